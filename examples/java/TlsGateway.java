import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.kernel.Gateway;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A pool on a gateway over https/wss whose certificate this program trusts by itself, leaving the
 * JVM-wide trust store alone. Arguments: the server's https URL, a PEM file of the certificates to
 * trust, and a PKCS12 trust store holding the same (password changeit); the token comes from
 * $JUPYTER_GATEWAY_AUTH_TOKEN.
 */
public class TlsGateway {
    public static void main(String[] args) throws Exception {
        String token = System.getenv("JUPYTER_GATEWAY_AUTH_TOKEN");
        Path pem = Path.of(args.length > 1 ? args[1] : "cert.pem");
        Path p12 = Path.of(args.length > 2 ? args[2] : "gateway-trust.p12");
        try (KernelPools pools = KernelPools.create()) {
            Gateway gw = Gateway.builder(URI.create(args.length > 0 ? args[0] : "https://127.0.0.1:8888")).token(token)
                    .trustCertificates(pem)
                    .build();
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).gateway(gw).build());

            // or an SSLContext of your own, here from the trust store made above:
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(p12)) {
                store.load(in, "changeit".toCharArray());
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, tmf.getTrustManagers(), null);
            Gateway same = Gateway.builder(gw.url()).token(token).sslContext(tls).build();
            LanguagePool again = pools.createPool("python-again", "python3", PoolOptions.builder().size(1).gateway(same).build());

            ExecutionResult r = py.execute("print(6 * 7)");
            ExecutionResult r2 = again.execute("print(6 * 7)");
            System.out.println("trustCertificates: " + r.stdout().strip() + " over " + gw.url().getScheme());
            System.out.println("sslContext:        " + r2.stdout().strip() + " over " + same.url().getScheme());
        }
    }
}

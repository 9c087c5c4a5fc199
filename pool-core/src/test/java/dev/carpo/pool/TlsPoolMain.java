package dev.carpo.pool;

import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM for GatewayTlsTest: a pool on the https gateway given, with no TLS setting of its own,
 * so only the JVM's {@code javax.net.ssl.trustStore} properties can make the certificate trusted.
 * The token comes in the environment, never in argv (which {@code ps} shows).
 */
public final class TlsPoolMain {
    static final String TOKEN_ENV = "CARPO_TEST_GATEWAY_TOKEN";

    private TlsPoolMain() {
    }

    public static void main(String[] args) throws Exception {
        try (KernelPools pools = KernelPools.builder().runtimeDir(Path.of(args[0])).build()) {
            LanguagePool py = pools.createPool("python", "python3",
                    PoolOptions.builder().size(1).gateway(URI.create(args[1]), System.getenv(TOKEN_ENV)).build());
            System.out.println("STDOUT " + py.submit("print(6*7)").get(60, TimeUnit.SECONDS).stdout().strip());
        } catch (PoolException e) {
            System.out.println("FAILED " + e.getMessage());
            System.exit(1);
        }
    }
}

package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.carpo.pool.kernel.Gateway;
import dev.carpo.pool.kernel.GatewayClient;
import dev.carpo.pool.kernel.GatewayException;
import dev.carpo.pool.kernel.JupyterServer;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.kernel.SelfSignedCert;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gateways over TLS: a real Jupyter Server with a self-signed certificate made by openssl at test
 * time, reached over https/wss when the certificate is trusted (by an SSLContext on the Gateway, or
 * by the JVM's trust-store properties), and refused with a message saying why when it is not.
 */
class GatewayTlsTest {
    @TempDir
    static Path dir;
    /** Certificate for 127.0.0.1 and localhost. */
    static SelfSignedCert good;
    /** Trusted too, but for another host only: every connection to it is a name mismatch. */
    static SelfSignedCert elsewhere;
    static KeyStore trustStore;
    static SSLContext trusting;
    static JupyterServer server;
    static JupyterServer misnamed;
    static GatewayClient client;

    @BeforeAll
    static void startServers() throws Exception {
        SelfSignedCert.requireOpenssl();
        good = SelfSignedCert.make(dir.resolve("good"), "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
        elsewhere = SelfSignedCert.make(dir.resolve("elsewhere"), "example.invalid", "DNS:example.invalid");
        trustStore = SelfSignedCert.trustStore(List.of(good, elsewhere));
        trusting = SelfSignedCert.sslContext(trustStore);
        // Both at once: each takes a couple of seconds to come up.
        CompletableFuture<JupyterServer> second = CompletableFuture.supplyAsync(() -> {
            try {
                return JupyterServer.startTls(dir.resolve("misnamed"), elsewhere.certFile(), elsewhere.keyFile());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            server = JupyterServer.startTls(dir.resolve("server"), good.certFile(), good.keyFile());
        } finally {
            misnamed = second.get(90, TimeUnit.SECONDS);
        }
        client = GatewayClient.create(server.gateway(trusting));
    }

    @AfterAll
    static void stopServers() throws Exception {
        try {
            if (client != null) {
                assertThat(client.kernels()).as("kernels left on the server").isEmpty();
            }
        } finally {
            if (client != null) {
                client.close();
            }
            if (server != null) {
                server.close();
            }
            if (misnamed != null) {
                misnamed.close();
            }
        }
    }

    @Test
    void aPoolRunsOverHttpsAndWssWithTheGatewaysOwnSslContext() throws Exception {
        assertThat(server.url().getScheme()).isEqualTo("https");
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir.resolve("a")).build()) {
            // The server speaks TLS only, so the kernel's channels can only have opened as wss:// with this context.
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1)
                    .gateway(server.gateway(trusting)).startupTimeout(Duration.ofSeconds(60)).build());
            ExecutionResult r = py.submit("print(6*7)").get(60, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
            assertThat(r.stdout()).isEqualTo("42\n");
            assertThat(client.kernels()).hasSize(1);
        }
    }

    @Test
    void trustCertificatesTrustsAPemFileForThisGatewayOnly() {
        Gateway gw = Gateway.builder(server.url()).token(server.token()).trustCertificates(good.certFile()).build();
        try (GatewayClient pem = GatewayClient.create(gw)) {
            assertThat(pem.kernelSpecs()).extracting(KernelSpec::name).contains("python3");
        }
        // That trust is the PEM's alone: the other server's certificate is not in it.
        Gateway other = Gateway.builder(URI.create("https://127.0.0.1:" + misnamed.port())).trustCertificates(good.certFile()).build();
        try (GatewayClient pem = GatewayClient.create(other)) {
            assertThatThrownBy(pem::kernelSpecs).isInstanceOf(GatewayException.class).hasMessageContaining("TLS certificate not trusted");
        }
    }

    @Test
    void badTlsSettingsAreRefusedNamingTheProblem() throws Exception {
        Path missing = dir.resolve("no-such.pem");
        assertThatThrownBy(() -> Gateway.builder(server.url()).trustCertificates(missing))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("certificate file " + missing + " does not exist");
        assertThatThrownBy(() -> Gateway.builder(server.url()).trustCertificates(good.keyFile()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(good.keyFile().toString())
                .hasMessageContaining("holds no certificate").hasMessageEndingWith("; it holds a private key");
        Path empty = Files.writeString(dir.resolve("empty.pem"), "", StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> Gateway.builder(server.url()).trustCertificates(empty))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds no certificate");
        assertThatThrownBy(() -> Gateway.builder(URI.create("http://127.0.0.1:8888")).sslContext(trusting).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is plain HTTP, so an SSLContext would not be used");
    }

    @Test
    void anUntrustedCertificateFailsPoolCreationPromptlySayingSo() {
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir.resolve("b")).build()) {
            // The JDK's default trust store (cacerts) does not hold a certificate made a moment ago.
            Throwable failure = assertTimeoutPreemptively(Duration.ofSeconds(15), () -> catchThrowable(() -> pools.createPool("python",
                    "python3", PoolOptions.builder().size(1).gateway(server.url(), server.token()).build())));
            assertThat(failure).isInstanceOf(PoolFailedException.class)
                    .hasMessageContaining("gateway " + server.url() + ": TLS certificate not trusted (PKIX path building failed: "
                            + "unable to find valid certification path to requested target) at GET api/kernelspecs; trust it with")
                    .hasMessageContaining("-Djavax.net.ssl.trustStore=").hasMessageContaining("sslContext(")
                    .hasMessageNotContaining(server.token()).hasMessageNotContaining("sun.security");
            assertThat(pools.pools()).isEmpty();
        }
        assertThat(client.kernels()).as("kernels started on the server despite the failure").isEmpty();
    }

    @Test
    void theJvmTrustStorePropertiesAreEnoughWithoutAnyCarpoSetting() throws Exception {
        Path p12 = SelfSignedCert.write(trustStore, dir.resolve("trust.p12"));
        ChildRun trusted = runChild(p12, "c");
        assertThat(trusted.output()).as("child JVM output").contains("STDOUT 42");
        assertThat(trusted.exitCode()).as(trusted.output()).isZero();

        // A trust store without the server's certificate: the failure names the store the JVM was told to use.
        Path other = SelfSignedCert.write(SelfSignedCert.trustStore(List.of(elsewhere)), dir.resolve("other.p12"));
        ChildRun refused = runChild(other, "c2");
        assertThat(refused.output()).contains("FAILED pool 'python': gateway " + server.url() + ": TLS certificate not trusted")
                .contains("; this JVM trusts only trust store " + other + " (-Djavax.net.ssl.trustStore); trust it with")
                .doesNotContain(server.token());
        assertThat(refused.exitCode()).isEqualTo(1);
    }

    private record ChildRun(int exitCode, String output) {
    }

    /** {@link TlsPoolMain} in a JVM whose only trust is the {@code javax.net.ssl.trustStore} given. */
    private static ChildRun runChild(Path p12, String name) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        ProcessBuilder pb = new ProcessBuilder(java, "-Djavax.net.ssl.trustStore=" + p12,
                "-Djavax.net.ssl.trustStorePassword=" + SelfSignedCert.STORE_PASSWORD, "-Djavax.net.ssl.trustStoreType=PKCS12",
                "-cp", classpath, TlsPoolMain.class.getName(), dir.resolve(name).toString(), server.url().toString());
        pb.environment().put(TlsPoolMain.TOKEN_ENV, server.token());
        Path log = dir.resolve(name + ".log");
        Process child = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertThat(child.waitFor(90, TimeUnit.SECONDS)).as("child JVM finished; its output: %s", log).isTrue();
        } finally {
            child.destroyForcibly();
        }
        return new ChildRun(child.exitValue(), Files.readString(log));
    }

    @Test
    void aCertificateForAnotherHostFailsSayingTheNameDoesNotMatch() {
        // The certificate is trusted (it is in the context), but names only example.invalid.
        URI byIp = URI.create("https://127.0.0.1:" + misnamed.port() + "/");
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir.resolve("d")).build()) {
            Gateway gw = Gateway.builder(byIp).token(misnamed.token()).sslContext(trusting).build();
            assertThatThrownBy(() -> pools.createPool("python", "python3", PoolOptions.builder().size(1).gateway(gw).build()))
                    .isInstanceOf(PoolFailedException.class)
                    .hasMessageContaining("gateway " + byIp + ": TLS certificate does not match the host name 127.0.0.1")
                    .hasMessageContaining("(No subject alternative names matching IP address 127.0.0.1 found) at GET api/kernelspecs");
        }
        URI byName = URI.create("https://localhost:" + misnamed.port() + "/");
        try (GatewayClient named = GatewayClient.create(Gateway.builder(byName).token(misnamed.token()).sslContext(trusting).build())) {
            assertThatThrownBy(named::kernelSpecs).isInstanceOf(GatewayException.class)
                    .hasMessageContaining("gateway " + byName + ": TLS certificate does not match the host name localhost")
                    .hasMessageContaining("No subject alternative DNS name matching localhost found");
        }
        // Trust is checked before the name: untrusted, the same server is "not trusted", so the mismatch above came after trust.
        try (GatewayClient untrusted = GatewayClient.create(Gateway.of(byName, misnamed.token()))) {
            assertThatThrownBy(untrusted::kernelSpecs).isInstanceOf(GatewayException.class).hasMessageContaining("TLS certificate not trusted");
        }
    }
}

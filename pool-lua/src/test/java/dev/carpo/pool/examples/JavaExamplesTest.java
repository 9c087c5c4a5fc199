package dev.carpo.pool.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpo.pool.examples.ExampleJvm.Run;
import dev.carpo.pool.kernel.Containment;
import dev.carpo.pool.kernel.GatewayClient;
import dev.carpo.pool.kernel.JupyterServer;
import dev.carpo.pool.kernel.Prerequisites;
import dev.carpo.pool.kernel.SelfSignedCert;
import dev.carpo.pool.kernel.TestKernels;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs every program under examples/java against real kernels (ipykernel, IRkernel, carpo's
 * built-in kernels, a Jupyter Server on loopback, bubblewrap) and checks what it prints: the
 * README shows these programs, or excerpts of them, with this output.
 *
 * <p>Each runs in a child JVM ({@link ExampleJvm}) rather than by calling {@code main} here: an
 * example owns its JVM as a user's program does (its {@code KernelPools} shutdown hook, the
 * JVM-wide kernel runtime and sandbox probes, {@code System.out}), and a child JVM's exit code,
 * stdout and leftover processes are exactly what a user would see.
 */
class JavaExamplesTest {
    static final Duration T = Duration.ofSeconds(180);
    static final String UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

    @TempDir
    Path dir;

    private Run run(String example, Map<String, String> env, String... args) throws Exception {
        Run run = ExampleJvm.run(dir, T, env, example, args);
        assertThat(run.exit()).as(run.transcript()).isZero();
        return run;
    }

    @Test
    void poolsFromJava() throws Exception {
        TestKernels.specOrSkip("ir"); // skipped (failed under CI) without IRkernel: apt-get install r-cran-irkernel
        Run run = run("PoolsFromJava", Map.of());
        List<String> out = run.stdout();
        assertThat(out).as(run.transcript()).hasSize(14);
        for (int i = 0; i < 8; i++) {
            assertThat(out.get(i)).as(run.transcript()).matches("python: " + i * i + " on instance [0-3]");
        }
        assertThat(out.subList(8, 14)).as(run.transcript()).satisfiesExactly(
                l -> assertThat(l).isEqualTo("r:      [1] 55"),
                l -> assertThat(l).isEqualTo("error:  ZeroDivisionError: division by zero"),
                l -> assertThat(l).matches("timeout: pool 'python' instance [0-3]: job did not complete within 1000 ms; its kernel was interrupted"),
                l -> assertThat(l).matches("lease:  21 on instance [0-3]"),
                l -> assertThat(l).isEqualTo("scaled: 'hello from every kernel'"),
                l -> assertThat(l).matches("stats:  size=[34] idle=[34] busy=0 ok=\\d+ errors=1 timeouts=1 started=[3-9]"));
        assertThat(run.stderr()).containsPattern("  event: python\\[0] ready in \\d+ ms \\(kernel " + UUID)
                .containsPattern("  event: r\\[0] ready in \\d+ ms");
    }

    @Test
    void prometheusMetrics() throws Exception {
        Run run = run("PrometheusMetrics", Map.of());
        String tags = "language=\"python\",location=\"local\"";
        assertThat(run.stdout()).as(run.transcript())
                .anySatisfy(l -> assertThat(l).matches("serving: http://127\\.0\\.0\\.1:\\d+/metrics"))
                .contains("scrape:  HTTP 200, text/plain; version=0.0.4; charset=utf-8",
                        "carpo_executions_total{" + tags + ",outcome=\"ok\",pool=\"python\"} 3.0",
                        "carpo_executions_total{" + tags + ",outcome=\"error\",pool=\"python\"} 1.0",
                        "carpo_kernels{" + tags + ",pool=\"python\",state=\"idle\"} 1.0",
                        "carpo_queue_wait_seconds_count{" + tags + ",pool=\"python\"} 4")
                .anySatisfy(l -> assertThat(l).matches("carpo_kernel_memory_bytes\\{instance=\"0\"," + tags + ",pool=\"python\"} \\d.*E\\d+"))
                .noneSatisfy(l -> assertThat(l).startsWith("carpo_executions_total").endsWith(" 0.0"));
    }

    @Test
    void builtinKernels() throws Exception {
        Run run = run("BuiltinKernels", Map.of());
        assertThat(run.stdout()).as(run.transcript()).containsExactly("ababab", "55");
    }

    @Test
    void gatewayPool() throws Exception {
        JupyterServer server = JupyterServer.start(dir.resolve("server"));
        try {
            // The token goes in the environment, as the example reads it by default: argv is visible to every user in ps.
            Run run = run("GatewayPool", Map.of("JUPYTER_GATEWAY_AUTH_TOKEN", server.token()), server.url().toString());
            assertThat(run.stdout()).as(run.transcript()).satisfiesExactly(
                    l -> assertThat(l).isEqualTo("pool:    python on 127.0.0.1:" + server.port() + ", size 2"),
                    l -> assertThat(l).matches("remote:  42 on instance 0, kernel " + UUID),
                    l -> assertThat(l).matches("remote:  42 on instance 1, kernel " + UUID),
                    l -> assertThat(l).isEqualTo("pids:    [-1, -1] (the server's processes: none here)"));
            try (GatewayClient client = GatewayClient.create(server.gateway())) {
                assertThat(client.kernels()).as("the server's kernels once the example is done").isEmpty();
            }
        } finally {
            server.close();
        }
    }

    @Test
    void tlsGateway() throws Exception {
        SelfSignedCert.requireOpenssl();
        SelfSignedCert cert = SelfSignedCert.make(dir.resolve("cert"), "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
        KeyStore trust = SelfSignedCert.trustStore(List.of(cert));
        Path p12 = SelfSignedCert.write(trust, dir.resolve("gateway-trust.p12"));
        JupyterServer server = JupyterServer.startTls(dir.resolve("tls-server"), cert.certFile(), cert.keyFile());
        try {
            assertThat(server.url().getScheme()).isEqualTo("https");
            // Neither the JVM's trust store nor its properties know this certificate: only the example's own trust does.
            Run run = run("TlsGateway", Map.of("JUPYTER_GATEWAY_AUTH_TOKEN", server.token()),
                    server.url().toString(), cert.certFile().toString(), p12.toString());
            assertThat(run.stdout()).as(run.transcript()).containsExactly(
                    "trustCertificates: 42 over https", "sslContext:        42 over https");
            try (GatewayClient client = GatewayClient.create(server.gateway(SelfSignedCert.sslContext(trust)))) {
                assertThat(client.kernels()).as("the server's kernels once the example is done").isEmpty();
            }
        } finally {
            server.close();
        }
    }

    @Test
    void oneKernel() throws Exception {
        Run run = run("OneKernel", Map.of());
        assertThat(run.stdout()).as(run.transcript()).satisfiesExactly(
                l -> assertThat(l).matches("ready: Kernel\\[python3 " + UUID + " process \\d+] 3\\.\\d+\\.\\d+"),
                l -> assertThat(l).isEqualTo("stdout: hello from /usr/bin/python3"),
                l -> assertThat(l).isEqualTo("result: 42  (status OK, execution_count 1)"),
                l -> assertThat(l).isEqualTo("error:  ZeroDivisionError: division by zero"),
                l -> assertThat(l).isEqualTo("input:  'hi Ada'"));
    }

    @Test
    void sandboxedPool() throws Exception {
        Prerequisites.requireBwrap(Containment.pidNamespace());
        Run run = run("SandboxedPool", Map.of());
        assertThat(run.stdout()).as(run.transcript()).containsExactly(
                "read:    '3 apples, 4 pears'",
                "wrote:   7 fruits (read by the host)",
                "write:   OSError Read-only file system (in datasets)",
                "network: OSError Network is unreachable",
                "home:    " + System.getProperty("user.home") + " visible: False");
    }

    @Test
    void tenantPool() throws Exception {
        Run run = run("TenantPool", Map.of());
        assertThat(run.stdout()).as(run.transcript()).satisfiesExactly(
                l -> assertThat(l).matches("alice:   'alice' on instance [01]"),
                l -> assertThat(l).matches("bob:     NameError on instance [01], a kernel of its own: true"),
                l -> assertThat(l).isEqualTo("job:     False (a job is a lease of one job)"),
                l -> assertThat(l).isEqualTo("retired: lease_end 3"));
    }

    /** A new file under examples/java needs a test here, named after it, or it would go unrun. */
    @Test
    void everyExampleHasATestNamedAfterIt() {
        List<String> tests = Arrays.stream(JavaExamplesTest.class.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(Test.class)).map(Method::getName).toList();
        List<String> examples = ExampleFiles.examples().keySet().stream()
                .map(f -> Path.of(f).getFileName().toString().replaceFirst("\\.java$", ""))
                .map(n -> Character.toLowerCase(n.charAt(0)) + n.substring(1)).toList();
        assertThat(examples).hasSizeGreaterThanOrEqualTo(8);
        assertThat(tests).containsAll(examples);
    }
}

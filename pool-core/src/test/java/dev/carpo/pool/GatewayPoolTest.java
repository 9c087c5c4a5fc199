package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.kernel.GatewayClient;
import dev.carpo.pool.kernel.JupyterServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pools whose kernels run on a real Jupyter Server on loopback: same API, dispatch and metrics as local ones. */
class GatewayPoolTest {
    @TempDir
    static Path dir;
    static JupyterServer server;
    static GatewayClient client;

    @BeforeAll
    static void startServer() throws Exception {
        server = JupyterServer.start(dir.resolve("server"));
        client = GatewayClient.create(server.gateway());
    }

    @AfterAll
    static void stopServer() throws Exception {
        try {
            assertThat(client.kernels()).as("kernels left on the server").isEmpty();
        } finally {
            client.close();
            server.close();
        }
    }

    private static PoolOptions.Builder remote(int size) {
        return PoolOptions.builder().size(size).gateway(server.url(), server.token())
                .startupTimeout(Duration.ofSeconds(90)).heartbeatTimeout(Duration.ofSeconds(5));
    }

    private static Set<String> serverKernelIds() {
        Set<String> ids = new HashSet<>();
        client.kernels().forEach(k -> ids.add(k.get("id").asText()));
        return ids;
    }

    @Test
    void outputLimitsHoldOverTheWebSocketToo() throws Exception {
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).build()) {
            LanguagePool py = pools.createPool("python", "python3", remote(1).maxOutputBytes(16 * 1024).init("import sys").build());
            ExecutionResult r = py.submit("for i in range(20000):\n    print(i)\n    if i % 500 == 0: sys.stdout.flush()")
                    .get(60, TimeUnit.SECONDS);
            assertThat(r.truncated()).isTrue();
            assertThat(r.stdout()).startsWith("0\n1\n").endsWith("19999\n").contains("bytes of output dropped]");

            // Past the wire bound (2 MiB + 64 KiB) the WebSocket message is skipped unread, never collected. (A reply:
            // Jupyter Server's own iopub rate limit would replace a huge print with its warning.)
            Throwable refused = catchThrowable(() -> py.submit("get_ipython().payload_manager.write_payload("
                    + "{'source': 'page', 'data': {'text/plain': 'z' * 3_000_000}, 'start': 0})").get(60, TimeUnit.SECONDS));
            assertThat(refused).cause().isInstanceOf(PoolOutputLimitException.class).hasMessageContaining("its WebSocket");
            assertThat(py.submit("6 * 7").get(60, TimeUnit.SECONDS).text()).isEqualTo("42");
        }
    }

    @Test
    void remoteKernelsTakePlacedAndParallelWorkScaleAndAreDeletedOnClose() throws Exception {
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).build()) {
            LanguagePool py = pools.createPool("python", "python3", remote(2).strategy(Dispatch.ROUND_ROBIN).init("import os, time").build());
            assertThat(py.location()).isEqualTo("127.0.0.1:" + server.port());
            List<String> ids = py.stats().instances().stream().map(PoolStats.Instance::kernelId).toList();
            assertThat(serverKernelIds()).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(py.stats().instances()).extracting(PoolStats.Instance::pid).containsOnly(-1L);

            // Placement: instance k is the k-th server kernel, each its own process.
            Set<String> pids = new HashSet<>();
            for (int i = 0; i < 2; i++) {
                ExecutionResult r = py.submit("os.getpid()", ExecuteOptions.builder().instance(i).build()).get(60, TimeUnit.SECONDS);
                assertThat(r.instance()).isEqualTo(i);
                assertThat(r.kernelId()).isEqualTo(ids.get(i));
                pids.add(r.text());
            }
            assertThat(pids).hasSize(2);

            // Parallel jobs spread over both kernels, every value back once.
            List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                jobs.add(py.submit("time.sleep(0.05); " + i));
            }
            Set<Integer> instances = new HashSet<>();
            for (int i = 0; i < 20; i++) {
                ExecutionResult r = jobs.get(i).get(60, TimeUnit.SECONDS);
                assertThat(r.text()).isEqualTo(Integer.toString(i));
                instances.add(r.instance());
            }
            assertThat(instances).containsExactlyInAnyOrder(0, 1);

            py.scale(3);
            assertThat(py.stats().size()).isEqualTo(3);
            assertThat(serverKernelIds()).hasSize(3);
            assertThat(py.execute("os.getpid()", ExecuteOptions.builder().instance(2).build()).status()).isEqualTo(ExecutionStatus.OK);
            py.scale(1);
            await().atMost(T).until(() -> serverKernelIds().size() == 1);
        }
        assertThat(serverKernelIds()).isEmpty();
    }

    @Test
    void aTimeoutInterruptsTheRemoteKernelWhichThenServesTheNextJob() throws Exception {
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).build()) {
            LanguagePool py = pools.createPool("python", "python3", remote(1).init("import time").interruptGrace(Duration.ofSeconds(10)).build());
            String kernel = py.stats().instances().get(0).kernelId();
            CompletableFuture<ExecutionResult> slow = py.submit("time.sleep(60)", ExecuteOptions.builder().timeout(Duration.ofSeconds(1)).build());
            CompletableFuture<ExecutionResult> next = py.submit("'after'");
            assertThatThrownBy(() -> slow.get(30, TimeUnit.SECONDS)).cause().isInstanceOf(PoolTimeoutException.class)
                    .hasMessageContaining("did not complete within 1000 ms");
            ExecutionResult after = next.get(30, TimeUnit.SECONDS);
            assertThat(after.text()).isEqualTo("'after'");
            assertThat(after.kernelId()).isEqualTo(kernel);
            assertThat(py.stats().restarts()).isZero();
        }
    }

    @Test
    void aRemoteKernelDeletedOrKilledBehindThePoolsBackFailsOnlyItsJobAndIsReplaced() throws Exception {
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry =
                new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).meterRegistry(registry).build()) {
            pools.addListener(testing);
            LanguagePool py = pools.createPool("python", "python3", remote(1).init("import os, time").build());
            String first = py.stats().instances().get(0).kernelId();

            // SIGINT ignored, so the server's interrupt-then-shutdown cannot end the job with a KeyboardInterrupt result.
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            CompletableFuture<ExecutionResult> running = py.submit(
                    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); print('started', flush=True); time.sleep(60)",
                    ExecuteOptions.builder().listener(new dev.carpo.pool.kernel.OutputListener() {
                        @Override
                        public void onStream(String name, String text) {
                            started.countDown();
                        }
                    }).build());
            CompletableFuture<ExecutionResult> queued = py.submit("'queued'");
            assertThat(started.await(60, TimeUnit.SECONDS)).as("the job is running, SIGINT ignored").isTrue();
            assertThat(client.shutdown(first, Duration.ofSeconds(30))).isTrue();
            assertThatThrownBy(() -> running.get(60, TimeUnit.SECONDS)).cause().isInstanceOf(PoolKernelDiedException.class)
                    .hasMessageContaining(first);
            ExecutionResult q = queued.get(120, TimeUnit.SECONDS);
            assertThat(q.text()).isEqualTo("'queued'");
            String second = q.kernelId();
            assertThat(second).isNotEqualTo(first);

            // SIGKILL of the server's kernel process: the server restarts it with its state gone; the pool replaces it.
            long pid = Long.parseLong(py.execute("os.getpid()").text());
            CompletableFuture<ExecutionResult> running2 = py.submit("time.sleep(60)");
            await().atMost(T).until(() -> py.stats().busy() == 1);
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            assertThatThrownBy(() -> running2.get(60, TimeUnit.SECONDS)).cause().isInstanceOf(PoolKernelDiedException.class)
                    .hasMessageContaining("restarted by the gateway");
            ExecutionResult healed = py.execute("os.getpid()");
            assertThat(healed.kernelId()).isNotIn(first, second);
            assertThat(healed.status()).isEqualTo(ExecutionStatus.OK);
            assertThat(py.stats().restarts()).isEqualTo(2);
            // Both deaths are the gateway's: in the stats, the events and the scrape.
            assertThat(py.stats().reason(PoolEvent.Reason.GATEWAY_LOST)).isEqualTo(2);
            await().atMost(T).until(() -> testing.events.stream().filter(e -> e.reason() == PoolEvent.Reason.GATEWAY_LOST).count() == 2);
            assertThat(testing.events).filteredOn(e -> e.reason() == PoolEvent.Reason.GATEWAY_LOST)
                    .allSatisfy(e -> assertThat(e.type()).isEqualTo(PoolEvent.Type.DEAD));
            assertThat(registry.scrape()).containsPattern("carpo_kernel_deaths_total\\{[^}]*pool=\"python\",reason=\"gateway_lost\"} 2.0");
            await().atMost(T).until(() -> serverKernelIds().equals(Set.of(healed.kernelId())));
        }
    }

    @Test
    void aBadTokenAnUnreachableGatewayAndAnUnknownSpecFailCreatePoolNamingTheProblem() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).build()) {
            assertThatThrownBy(() -> pools.createPool("python", "python3", remote(1).gateway(server.url(), "wrong-token").build()))
                    .isInstanceOf(PoolFailedException.class)
                    .hasMessageContaining(server.url().toString()).hasMessageContaining("403").hasMessageContaining("token");
            assertThatThrownBy(() -> pools.createPool("python", "python3",
                    remote(1).gateway(URI.create("http://127.0.0.1:" + closedPort), "t").build()))
                    .isInstanceOf(PoolFailedException.class)
                    .hasMessageContaining("http://127.0.0.1:" + closedPort + "/").hasMessageContaining("unreachable");
            assertThatThrownBy(() -> pools.createPool("python", "cobol", remote(1).build()))
                    .isInstanceOf(PoolFailedException.class)
                    .hasMessageContaining("no kernelspec 'cobol'").hasMessageContaining("python3");
            assertThat(pools.pools()).isEmpty();
        }
    }

    @Test
    void aLocalAndARemotePoolRunSideBySideTaggedByLocation() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).meterRegistry(registry).build()) {
            pools.addListener(testing);
            CompletableFuture<LanguagePool> local = pools.createPoolAsync("local", "python3", PoolOptions.builder().size(1).build());
            CompletableFuture<LanguagePool> remote = pools.createPoolAsync("remote", "python3", remote(1).build());
            LanguagePool here = local.get(120, TimeUnit.SECONDS);
            LanguagePool there = remote.get(120, TimeUnit.SECONDS);
            assertThat(here.execute("6 * 7").text()).isEqualTo("42");
            assertThat(there.execute("6 * 7").text()).isEqualTo("42");
            assertThat(here.stats().instances().get(0).pid()).isPositive();
            assertThat(serverKernelIds()).containsExactly(there.stats().instances().get(0).kernelId());

            Gauge localIdle = registry.find("carpo.kernels").tags("pool", "local", "state", "idle", "location", "local").gauge();
            Gauge remoteIdle = registry.find("carpo.kernels").tags("pool", "remote", "state", "idle",
                    "location", "127.0.0.1:" + server.port()).gauge();
            assertThat(localIdle).isNotNull();
            assertThat(remoteIdle).isNotNull();
            assertThat(remoteIdle.value()).isEqualTo(1.0);
            assertThat(registry.find("carpo.executions").tags("pool", "remote", "outcome", "ok").functionCounter().count()).isEqualTo(1.0);
        }
        testing.assertNoKernelLeft();
        assertThat(serverKernelIds()).isEmpty();
    }

    @Test
    void jvmExitWithoutCloseDeletesTheRemoteKernels() throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", classpath, PoolExitMain.class.getName(),
                dir.resolve("exit").toString(), server.url().toString(), server.token())
                .redirectErrorStream(true).start();
        List<String> ids = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("KERNEL ID ")) {
                    ids.add(line.substring(10).trim());
                }
            }
        } finally {
            assertThat(child.waitFor(90, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(child.exitValue()).isZero();
        assertThat(ids).hasSize(2);
        // The shutdown hook deleted them before the JVM was gone.
        assertThat(serverKernelIds()).doesNotContainAnyElementsOf(ids);
    }
}

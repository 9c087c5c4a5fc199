package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kernels on a real Jupyter Server over REST and its channels WebSocket. */
class GatewayKernelTest {
    @TempDir
    static Path dir;
    static JupyterServer server;
    static GatewayClient client;

    @BeforeAll
    static void startServer() throws Exception {
        server = JupyterServer.start(dir);
        client = GatewayClient.create(server.gateway());
    }

    @AfterAll
    static void stopServer() throws Exception {
        client.close();
        server.close();
    }

    private static KernelOptions remote() {
        return KernelOptions.builder().gateway(server.gateway()).startupTimeout(Duration.ofSeconds(90))
                .heartbeatTimeout(Duration.ofSeconds(5)).build();
    }

    @Test
    void listsTheServersKernelspecs() {
        KernelSpec python = client.kernelSpec("python3");
        assertThat(python.language()).isEqualTo("python");
        assertThat(python.resourceDir()).isNull();
        assertThat(client.kernelSpecs()).extracting(KernelSpec::name).contains("python3");
    }

    @Test
    void runsCodeOnARemoteKernelAndDeletesItOnShutdown() throws Exception {
        try (KernelRuntime runtime = KernelRuntime.create()) {
            Kernel kernel = runtime.start(client.kernelSpec("python3"), remote()).get(120, TimeUnit.SECONDS);
            assertThat(kernel.pid()).isEqualTo(-1);
            assertThat(kernel.location()).isEqualTo("127.0.0.1:" + server.port());
            assertThat(client.kernel(kernel.id())).isPresent();

            KernelExecution r = kernel.execute("import os\nprint('hello', 6 * 7)\nos.getpid()", Duration.ofSeconds(30));
            assertThat(r.stdout()).isEqualTo("hello 42\n");
            long remotePid = Long.parseLong(r.text());
            assertThat(JupyterServer.kernelProcess(kernel.id()).map(ProcessHandle::pid)).contains(remotePid);

            KernelExecution error = kernel.execute("1/0", Duration.ofSeconds(30));
            assertThat(error.status()).isEqualTo(ReplyStatus.ERROR);
            assertThat(error.error().ename()).isEqualTo("ZeroDivisionError");

            assertThat(kernel.complete("impor", 5).get(30, TimeUnit.SECONDS).path("matches").toString()).contains("import");

            // 200 KB of output and an input() round trip through the server.
            KernelExecution big = kernel.execute("print('x' * 200_000)", Duration.ofSeconds(30));
            assertThat(big.stdout()).hasSize(200_001);
            KernelExecution asked = kernel.execute(ExecuteRequest.builder("input('name? ')")
                    .input((prompt, password) -> "Ada").timeout(Duration.ofSeconds(30)).build()).get(40, TimeUnit.SECONDS);
            assertThat(asked.text()).isEqualTo("'Ada'");

            kernel.close();
            assertThat(kernel.isAlive()).isFalse();
            assertThat(client.kernel(kernel.id())).isEmpty();
            await().atMost(Duration.ofSeconds(20)).until(() -> ProcessHandle.of(remotePid).map(p -> !p.isAlive()).orElse(true));
        }
        assertThat(client.kernels()).isEmpty();
    }

    @Test
    void restBasicsStartListRestartAndDelete() {
        String id = client.startKernel("python3", Map.of("KERNEL_USERNAME", "carpo"), null, Duration.ofSeconds(60)).get("id").asText();
        assertThat(client.kernels()).extracting(k -> k.get("id").asText()).contains(id);
        assertThat(client.restart(id, Duration.ofSeconds(60)).get("id").asText()).isEqualTo(id);
        assertThat(client.kernel(id)).isPresent();
        assertThat(client.shutdown(id, Duration.ofSeconds(30))).isTrue();
        assertThat(client.kernel(id)).isEmpty();
        assertThat(client.shutdown(id, Duration.ofSeconds(30))).as("a second DELETE finds it gone").isFalse();
        assertThatThrownBy(() -> client.interrupt(id)).isInstanceOf(GatewayException.class).hasMessageContaining("404");
    }

    @Test
    void interruptStopsALoopThroughTheServer() throws Exception {
        try (KernelRuntime runtime = KernelRuntime.create()) {
            Kernel kernel = runtime.start(client.kernelSpec("python3"), remote()).get(120, TimeUnit.SECONDS);
            // One interrupt, once the cell runs: ipykernel ignores a SIGINT that comes before, and one that lands while it
            // finishes the interrupted cell loses that cell's execute_reply ("KeyboardInterrupt caught in kernel").
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<KernelExecution> running = kernel.execute(ExecuteRequest.builder("import time\nprint('looping', flush=True)\nwhile True: time.sleep(0.05)")
                    .stopOnError(false).listener(new OutputListener() {
                        @Override
                        public void onStream(String name, String text) {
                            started.countDown();
                        }
                    }).timeout(Duration.ofSeconds(60)).build());
            assertThat(started.await(30, TimeUnit.SECONDS)).as("the cell is running").isTrue();
            kernel.interrupt().get(10, TimeUnit.SECONDS);
            assertThat(running.get(20, TimeUnit.SECONDS).error().ename()).isEqualTo("KeyboardInterrupt");
            assertThat(kernel.execute("1 + 1", Duration.ofSeconds(20)).text()).isEqualTo("2");
        }
    }

    @Test
    void aKernelDeletedBehindOurBackFailsItsRunningRequestNamingTheCause() throws Exception {
        try (KernelRuntime runtime = KernelRuntime.create()) {
            Kernel kernel = runtime.start(client.kernelSpec("python3"), remote()).get(120, TimeUnit.SECONDS);
            // SIGINT ignored, so the server's interrupt-then-shutdown cannot end it with a KeyboardInterrupt result.
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            CompletableFuture<KernelExecution> running = kernel.execute(ExecuteRequest.builder(
                    "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('started', flush=True); time.sleep(60)")
                    .listener(new OutputListener() {
                        @Override
                        public void onStream(String name, String text) {
                            started.countDown();
                        }
                    })
                    .timeout(Duration.ofSeconds(90)).build());
            assertThat(started.await(30, TimeUnit.SECONDS)).as("the cell is running").isTrue();
            assertThat(client.shutdown(kernel.id(), Duration.ofSeconds(30))).isTrue();
            assertThatThrownBy(() -> running.get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(KernelDiedException.class)
                    .hasMessageContaining(kernel.id());
            assertThat(kernel.isAlive()).isFalse();
        }
    }

    @Test
    void aKernelProcessKilledOnTheServerIsDeadToUsAndDeleted() throws Exception {
        try (KernelRuntime runtime = KernelRuntime.create()) {
            Kernel kernel = runtime.start(client.kernelSpec("python3"), remote()).get(120, TimeUnit.SECONDS);
            long pid = Long.parseLong(kernel.execute("import os; os.getpid()", Duration.ofSeconds(30)).text());
            CompletableFuture<KernelExecution> running = kernel.execute(ExecuteRequest.builder("import time; time.sleep(60)")
                    .timeout(Duration.ofSeconds(90)).build());
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            // The server restarts it (a fresh process, state gone): to a pool that is a dead kernel.
            assertThatThrownBy(() -> running.get(60, TimeUnit.SECONDS))
                    .cause().isInstanceOf(KernelDiedException.class).hasMessageContaining("restarted by the gateway");
            await().atMost(Duration.ofSeconds(30)).until(() -> client.kernel(kernel.id()).isEmpty());
        }
    }

    /** A kernel on the server reached through the proxy, holding {@code x = 41}. */
    private static Kernel holding41ThroughProxy(KernelRuntime runtime, TcpProxy proxy, Duration heartbeatTimeout) throws Exception {
        KernelOptions options = KernelOptions.builder().gateway(Gateway.of(proxy.url(), server.token()))
                .startupTimeout(Duration.ofSeconds(90)).heartbeatTimeout(heartbeatTimeout).build();
        Kernel kernel = runtime.start(client.kernelSpec("python3"), options).get(120, TimeUnit.SECONDS);
        assertThat(kernel.execute("x = 41", Duration.ofSeconds(30)).status()).isEqualTo(ReplyStatus.OK);
        return kernel;
    }

    /** Open again on a new socket after exactly one reopen. */
    private static boolean reopenedOnce(Kernel kernel) {
        String state = kernel.transportState();
        return state.contains("open (") && state.contains("reopened 1 time");
    }

    @Test
    void aDroppedWebSocketIsReopenedOnceAndTheKernelKeepsItsStateElseItIsDeclaredDead() throws Exception {
        try (TcpProxy proxy = new TcpProxy(server.port()); KernelRuntime runtime = KernelRuntime.create()) {
            // 5 s: should the JDK miss the cut (see WebSocketTransport), the heartbeat finds it.
            Kernel kernel = holding41ThroughProxy(runtime, proxy, Duration.ofSeconds(5));

            int before = proxy.accepted();
            proxy.cutAll();
            // Reopened on the same session: same kernel, same state.
            // Wait for the WebSocket itself to be open again: a new connection to the proxy may be a REST call,
            // and a request written to the cut socket before its loss is noticed is gone with it.
            await().atMost(Duration.ofSeconds(30)).until(() -> proxy.accepted() > before && reopenedOnce(kernel));
            assertThat(kernel.execute("x + 1", Duration.ofSeconds(30)).text()).isEqualTo("42");
            assertThat(kernel.isAlive()).isTrue();

            // Dropped again with the way back closed: one failed reopen, and the kernel is dead, named so.
            proxy.refuse(true);
            int beforeRefused = proxy.accepted();
            proxy.cutAll();
            KernelDiedException died;
            try {
                died = kernel.onDeath().get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // Say where the connection stood (seen when the JDK missed the cut, before the WebSocket heartbeat).
                throw new AssertionError("not dead 30 s after the second cut: " + kernel.transportState() + "; connections to the proxy since: "
                        + (proxy.accepted() - beforeRefused), e);
            }
            assertThat(died).hasMessageContaining(kernel.id()).hasMessageContaining("lost its WebSocket")
                    .hasMessageContaining("could not reopen it");
            // Deleting it went through the proxy too, and was refused: it is still on the server, so delete it here.
            client.shutdown(kernel.id(), Duration.ofSeconds(30));
        }
    }

    /** A connection that goes silent without closing (a hung proxy, a NAT that forgot it) is found by the heartbeat. */
    @Test
    void aWebSocketThatGoesSilentIsReopenedAfterTheHeartbeatTimeoutAndTheKernelKeepsItsState() throws Exception {
        try (TcpProxy proxy = new TcpProxy(server.port()); KernelRuntime runtime = KernelRuntime.create()) {
            Kernel kernel = holding41ThroughProxy(runtime, proxy, Duration.ofSeconds(3));

            proxy.blackholeAll();
            await().atMost(Duration.ofSeconds(30)).until(() -> reopenedOnce(kernel));
            assertThat(kernel.execute("x + 1", Duration.ofSeconds(30)).text()).isEqualTo("42");
            assertThat(kernel.isAlive()).isTrue();
            kernel.close();
        }
    }

    @Test
    void aReopenTheServerNeverAnswersEndsTheKernelWithinTheGatewaysTimeouts() throws Exception {
        try (TcpProxy proxy = new TcpProxy(server.port()); KernelRuntime runtime = KernelRuntime.create()) {
            Gateway viaProxy = new Gateway(proxy.url(), server.token(), Duration.ofSeconds(2), Duration.ofSeconds(3));
            KernelOptions options = KernelOptions.builder().gateway(viaProxy).startupTimeout(Duration.ofSeconds(90))
                    .heartbeatTimeout(Duration.ofSeconds(5)).build();
            Kernel kernel = runtime.start(client.kernelSpec("python3"), options).get(120, TimeUnit.SECONDS);
            String id = kernel.id();
            // The way back accepts the connection and then says nothing: the upgrade never completes.
            proxy.silent(true);
            proxy.cutAll();
            KernelDiedException died = kernel.onDeath().get(30, TimeUnit.SECONDS);
            assertThat(died).hasMessageContaining(id).hasMessageContaining("could not reopen it");
            proxy.cutAll();
            client.shutdown(id, Duration.ofSeconds(30));
        }
    }

    @Test
    void errorsNameTheUrlAndTheProblem() throws Exception {
        GatewayClient badToken = GatewayClient.create(Gateway.of(server.url(), "not-the-token"));
        assertThatThrownBy(badToken::kernelSpecs).isInstanceOf(GatewayException.class)
                .hasMessageContaining(server.url().toString()).hasMessageContaining("403").hasMessageContaining("token");
        assertThat(((GatewayException) catchThrowable(badToken::kernelSpecs)).status()).isEqualTo(403);

        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        GatewayClient nowhere = GatewayClient.create(Gateway.of(URI.create("http://127.0.0.1:" + closedPort), null));
        assertThatThrownBy(nowhere::kernelSpecs).isInstanceOf(GatewayException.class)
                .hasMessageContaining("http://127.0.0.1:" + closedPort + "/").hasMessageContaining("unreachable");

        assertThatThrownBy(() -> client.kernelSpec("no-such-spec")).isInstanceOf(GatewayException.class)
                .hasMessageContaining("no kernelspec 'no-such-spec'").hasMessageContaining("python3");

        // The server refuses to start a spec it does not have: its status and reason come through.
        assertThatThrownBy(() -> client.startKernel("no-such-spec", Map.of(), null, Duration.ofSeconds(30)))
                .isInstanceOf(GatewayException.class).hasMessageContaining("POST api/kernels returned");

        try (KernelRuntime runtime = KernelRuntime.create()) {
            KernelOptions withBadToken = KernelOptions.builder().gateway(Gateway.of(server.url(), "nope")).build();
            assertThatThrownBy(() -> runtime.start(client.kernelSpec("python3"), withBadToken))
                    .isInstanceOf(GatewayException.class).hasMessageContaining("403");
        }
        badToken.close();
        nowhere.close();
    }
}

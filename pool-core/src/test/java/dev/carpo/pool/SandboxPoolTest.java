package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.kernel.Bytes;
import dev.carpo.pool.kernel.Containment;
import dev.carpo.pool.kernel.Prerequisites;
import dev.carpo.pool.kernel.JupyterPaths;
import dev.carpo.pool.kernel.KernelSpecs;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pools of sandboxed ipykernels without network ({@link PoolOptions#sandbox()}): jobs, interrupts,
 * timeouts, a killed kernel, output limits, a memory limit and a process cap all behave as they do
 * outside the sandbox, through the ipc relay.
 */
class SandboxPoolTest {
    static final Sandbox NO_NETWORK = Sandbox.builder().build();

    @TempDir
    static Path dir;
    static final PoolTesting testing = new PoolTesting();
    static KernelPools pools;
    /** One sandboxed kernel, shared by the tests that leave it healthy. */
    static LanguagePool py;
    KernelPools own;

    @BeforeAll
    static void start() {
        Prerequisites.requireBwrap(Containment.pidNamespace());
        pools = testing.pools(dir);
        py = pools.createPool("python", "python3", PoolOptions.builder().size(1).sandbox(NO_NETWORK)
                .init("import os, time").interruptGrace(Duration.ofSeconds(5)).build());
    }

    @AfterAll
    static void stop() {
        if (pools != null) {
            pools.close();
        }
        testing.assertNoKernelLeft();
        await().atMost(T).until(() -> Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("carpo-ipc-relay")));
    }

    @AfterEach
    void closeOwn() {
        Containment.usePidNamespace(null);
        Containment.useCgroups(null);
        if (own != null) {
            own.close();
        }
    }

    private static void awaitIdle() {
        await().atMost(T).until(() -> py.stats().size() == 1 && py.stats().busy() == 0
                && py.stats().instances().get(0).state() == InstanceState.IDLE);
    }

    @Test
    void jobsRunInsideWithoutNetwork() throws Exception {
        awaitIdle();
        assertThat(py.execute("21 * 2").text()).isEqualTo("42");
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            ExecutionResult r = py.execute("""
                    import socket
                    try:
                        socket.create_connection(('127.0.0.1', %d), timeout=5)
                        print('connected')
                    except OSError as e:
                        print(type(e).__name__)""".formatted(listener.getLocalPort()));
            assertThat(r.stdout().trim()).isEqualTo("ConnectionRefusedError");
        }
        assertThat(py.execute("print(os.environ['HOME'], os.path.exists(%s))".formatted(pyString(dir))).stdout().trim())
                .isEqualTo("/tmp False");
    }

    @Test
    void aSleepIsInterruptedAndTheSameKernelServesOn() throws Exception {
        awaitIdle();
        String kernelId = py.stats().instances().get(0).kernelId();
        CompletableFuture<ExecutionResult> sleeping = py.submit("time.sleep(60)");
        await().atMost(T).until(() -> py.stats().instances().get(0).state() == InstanceState.BUSY);
        long t0 = System.nanoTime();
        assertThat(sleeping.cancel(true)).isTrue();
        assertThatThrownBy(sleeping::get).isInstanceOf(CancellationException.class);
        ExecutionResult after = py.submit("'free'").get(30, TimeUnit.SECONDS);
        assertThat(after.text()).isEqualTo("'free'");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("interrupted, not slept out").isLessThan(Duration.ofSeconds(30));
        assertThat(after.kernelId()).as("interrupted by SIGINT, not replaced").isEqualTo(kernelId);
    }

    @Test
    void aJobTimeoutInterruptsTheKernelInside() throws Exception {
        awaitIdle();
        String kernelId = py.stats().instances().get(0).kernelId();
        CompletableFuture<ExecutionResult> slow = py.submit("time.sleep(60)", ExecuteOptions.builder().timeout(Duration.ofSeconds(1)).build());
        CompletableFuture<ExecutionResult> next = py.submit("'after'");
        assertThatThrownBy(() -> slow.get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(PoolTimeoutException.class).hasMessageContaining("did not complete within 1000 ms");
        ExecutionResult after = next.get(30, TimeUnit.SECONDS);
        assertThat(after.text()).isEqualTo("'after'");
        assertThat(after.kernelId()).isEqualTo(kernelId);
    }

    @Test
    void aKilledKernelIsReplacedAndThePoolHeals() throws Exception {
        awaitIdle();
        long pid = py.stats().instances().get(0).pid();
        ProcessHandle kernel = ProcessHandle.of(pid).orElseThrow();
        assertThat(kernel.info().commandLine().orElse("")).contains("ipykernel_launcher");
        long restartsBefore = py.stats().restarts();
        kernel.destroyForcibly();
        await().atMost(T).until(() -> py.stats().restarts() > restartsBefore);
        ExecutionResult after = py.execute("'healed'");
        assertThat(after.text()).isEqualTo("'healed'");
        assertThat(py.stats().instances().get(0).pid()).isNotEqualTo(pid);
        await().atMost(T).until(() -> !kernel.isAlive());
    }

    @Test
    void outputLimitsHoldThroughTheRelay() throws Exception {
        awaitIdle();
        ExecutionResult flood = py.execute("import sys\nfor i in range(4):\n    sys.stdout.write(str(i) * 1_000_000)\n    sys.stdout.flush()");
        assertThat(flood.truncated()).isTrue();
        assertThat(flood.stdout().length()).isLessThanOrEqualTo((int) PoolOptions.DEFAULT_MAX_OUTPUT_BYTES + 100);
        assertThat(flood.stdout()).startsWith("000").endsWith("333");

        Throwable refused = catchThrowable(() -> py.submit("print('x' * 25_000_000)").get(60, TimeUnit.SECONDS));
        assertThat(refused).isInstanceOf(ExecutionException.class).cause().isInstanceOf(PoolOutputLimitException.class)
                .hasMessageContaining("on iopub").hasMessageContaining("refused unread");
        assertThat(py.execute("6 * 7").text()).isEqualTo("42");
    }

    /** Held by the kernel's cgroup where one is writable, and by the /proc watchdog without one: both see into the sandbox. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aMemoryLimitStopsTheKernelInside(boolean cgroup) throws Exception {
        Prerequisites.requireMachine(!cgroup || Containment.memoryCgroup(), "a writable memory cgroup", "run as root on cgroup v1 or v2");
        Containment.useCgroups(cgroup ? null : false);
        long limit = 200L << 20;
        own = testing.pools(dir.resolve("memory-" + cgroup));
        LanguagePool limited = own.createPool("python", "python3", PoolOptions.builder().size(1).sandbox(NO_NETWORK).memoryLimit(limit).build());
        long pid = limited.stats().instances().get(0).pid();
        assertThatThrownBy(() -> limited.submit("b = b'x' * " + 3 * limit + "\nlen(b)").get(60, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(PoolMemoryLimitException.class)
                .hasMessageContaining("memory limit of " + Bytes.describe(limit));
        assertThat(limited.execute("1 + 1").text()).isEqualTo("2");
        assertThat(limited.stats().instances().get(0).pid()).isNotEqualTo(pid);
        assertThat(limited.stats().memoryLimited()).isEqualTo(1);
    }

    @Test
    void maxProcessesStopsAForkBombInside() {
        Prerequisites.requireMachine(Containment.pidsCgroup(), "a writable pids cgroup", "run as root on cgroup v1 or v2");
        own = testing.pools(dir.resolve("pids"));
        LanguagePool capped = own.createPool("python", "python3", PoolOptions.builder().size(1).sandbox(NO_NETWORK).maxProcesses(64).build());
        ExecutionResult r = capped.execute(KernelLimitsTest.BOUNDED_FORK_BOMB);
        assertThat(r.status()).isEqualTo(ExecutionStatus.ERROR);
        assertThat(r.error().ename()).isIn("BlockingIOError", "OSError");
        assertThat(Integer.parseInt(r.stdout().trim().substring(7))).isLessThan(64);
        assertThat(capped.execute("1 + 1").text()).isEqualTo("2");
    }

    @Test
    void freshLeasesGiveEachKernelAScratchDirectoryAsItsCwd() {
        own = testing.pools(dir.resolve("fresh"));
        for (Sandbox sandbox : new Sandbox[] {NO_NETWORK, null}) {
            LanguagePool fresh = own.createPool("fresh", "python3", PoolOptions.builder().size(1).sandbox(sandbox).freshLeases(true).build());
            String out = fresh.execute("import os\nopen('f.txt', 'w').write('x')\nprint(os.environ['CARPO_SCRATCH'] == os.getcwd(), os.getcwd())")
                    .stdout().trim();
            assertThat(out).startsWith("True ");
            Path scratch = Path.of(out.substring(5));
            assertThat(scratch.resolve("f.txt")).hasContent("x");
            fresh.close();
            await().atMost(T).untilAsserted(() -> assertThat(scratch).as("removed with its kernel").doesNotExist());
        }
    }

    @Test
    void aSandboxThatCannotHoldIsRefusedNamingWhy() throws Exception {
        own = testing.pools(dir.resolve("refused"));
        Path missing = dir.resolve("no-such-dir");
        assertThatThrownBy(() -> own.createPool("missing", "python3", PoolOptions.builder().size(1).maxStartAttempts(1)
                .sandbox(Sandbox.builder().readOnly(missing).build()).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");
        assertThat(own.pools()).as("refused before any kernel starts").isEmpty();

        Containment.usePidNamespace(false);
        assertThatThrownBy(() -> own.createPool("off", "python3", PoolOptions.builder().size(1).sandbox(NO_NETWORK).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-Dcarpo.bwrap=off");
        Containment.usePidNamespace(null);

        assertThatThrownBy(() -> PoolOptions.builder().sandbox(NO_NETWORK).gateway(URI.create("http://127.0.0.1:1"), "t").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sandbox is for kernels carpo runs as local processes");
        assertThat(own.pools()).isEmpty();
    }

    @Test
    void kernelsServedInThisJvmRefuseASandbox() throws Exception {
        Path data = Files.createDirectories(dir.resolve("fake-data"));
        FakeKernel.writeSpec(data);
        FakeKernel fake = new FakeKernel();
        own = KernelPools.builder()
                .kernelSpecs(new KernelSpecs(new JupyterPaths(Map.of("JUPYTER_PATH", data.toString()), data)))
                .runtimeDir(data.resolve("runtime")).build();
        own.runtime().serveInProcess(FakeKernel.PROVISIONER, fake);
        assertThatThrownBy(() -> own.createPool("fake", "fake", PoolOptions.builder().size(1).maxStartAttempts(1)
                .sandbox(NO_NETWORK).startupTimeout(T).build()))
                .isInstanceOf(PoolFailedException.class)
                .hasMessageContaining("a sandbox is for kernels carpo runs as processes")
                .hasMessageContaining("provisioner '" + FakeKernel.PROVISIONER + "'");
        assertThat(fake.instances()).as("nothing served").isEmpty();
    }

    private static String pyString(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}

package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.protocol.Channel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kernels that die, hang, fail to start, or are many: each test starts its own. */
class KernelLifecycleTest {
    static final Duration T = Duration.ofSeconds(30);

    @TempDir
    Path runtimeDir;
    @TempDir
    Path specDir;
    static KernelRuntime runtime;

    @BeforeAll
    static void start() {
        runtime = KernelRuntime.create();
    }

    @AfterAll
    static void stop() {
        runtime.close();
        assertThat(runtime.kernels()).isEmpty();
    }

    private Kernel python(KernelOptions options) throws Exception {
        return runtime.start(TestKernels.python(), options).get(90, TimeUnit.SECONDS);
    }

    private static CountDownLatch onFirstOutput(ExecuteRequest.Builder b, List<ExecuteRequest> out) {
        CountDownLatch latch = new CountDownLatch(1);
        out.add(b.listener(new OutputListener() {
            @Override
            public void onStream(String name, String text) {
                latch.countDown();
            }
        }).build());
        return latch;
    }

    @Test
    void cleanShutdownLeavesNoProcessNoFileNoPorts() throws Exception {
        Kernel kernel = python(TestKernels.options(runtimeDir));
        ProcessHandle process = ProcessHandle.of(kernel.pid()).orElseThrow();
        Path file = kernel.connectionFile();
        assertThat(file).exists();
        int reserved = PortReservations.reservedCount();

        kernel.close();

        assertThat(process.isAlive()).isFalse();
        assertThat(file).doesNotExist();
        try (var left = Files.list(runtimeDir)) {
            assertThat(left).isEmpty(); // no connection file, no stderr file
        }
        assertThat(PortReservations.reservedCount()).isEqualTo(reserved - 5);
        assertThat(kernel.isAlive()).isFalse();
        assertThat(kernel.onDeath().get(1, TimeUnit.SECONDS).getMessage()).contains("was shut down");
        assertThatThrownBy(() -> kernel.execute("1", T)).isInstanceOf(KernelDiedException.class).hasMessageContaining(kernel.id());
    }

    @Test
    void busyKernelIsInterruptedSoItExitsOnRequestNotBySignal() throws Exception {
        Kernel kernel = python(KernelOptions.builder().runtimeDir(runtimeDir).startupTimeout(Duration.ofSeconds(90))
                .shutdownGrace(Duration.ofSeconds(20)).build());
        List<ExecuteRequest> req = new ArrayList<>();
        CountDownLatch running = onFirstOutput(ExecuteRequest.builder("import time\nprint('go', flush=True)\ntime.sleep(120)"), req);
        CompletableFuture<KernelExecution> pending = kernel.execute(req.get(0));
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();

        kernel.shutdown().get(60, TimeUnit.SECONDS);

        // Exit code 0: it left through shutdown_request; SIGTERM after the 20 s grace would give 143.
        assertThat(kernel.onDeath().get(1, TimeUnit.SECONDS).exitCode()).isZero();
        // Interrupted (KeyboardInterrupt) or failed by the exit, never left hanging: it settles on
        // other threads than the exit's, so allow it a moment.
        assertThat(pending.handle((r, e) -> true).get(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void processesTheKernelStartedDieWithIt() throws Exception {
        Kernel kernel = python(TestKernels.options(runtimeDir));
        String marker = "300." + (100_000 + new java.util.Random().nextInt(800_000)); // a sleep no other process has
        kernel.execute("import subprocess; subprocess.Popen(['sleep', '" + marker + "']) and None", T);
        await().atMost(Duration.ofSeconds(10)).until(() -> TestKernels.pidsWith(marker).size() == 1);
        long child = TestKernels.pidsWith(marker).get(0);

        kernel.close(); // a clean exit on shutdown_request: the sleep would otherwise be left running

        await().atMost(Duration.ofSeconds(15)).until(() -> ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true));
    }

    @Test
    void sigkillMidExecutionFailsThePendingExecutionAtOnce() throws Exception {
        Kernel kernel = python(TestKernels.options(runtimeDir));
        List<ExecuteRequest> req = new ArrayList<>();
        CountDownLatch running = onFirstOutput(ExecuteRequest.builder("import time\nprint('go', flush=True)\ntime.sleep(60)"), req);
        CompletableFuture<KernelExecution> pending = kernel.execute(req.get(0));
        CompletableFuture<KernelExecution> queued = kernel.execute(ExecuteRequest.of("'never'"));
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();

        ProcessHandle.of(kernel.pid()).orElseThrow().destroyForcibly();

        for (CompletableFuture<KernelExecution> f : List.of(pending, queued)) {
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(KernelDiedException.class)
                    .hasMessageContaining(kernel.id())
                    .hasMessageContaining("exited unexpectedly")
                    .hasMessageContaining("exit code 137, signal 9");
        }
        KernelDiedException death = kernel.onDeath().get(10, TimeUnit.SECONDS);
        assertThat(death.exitCode()).isEqualTo(137);
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(kernel.connectionFile()));
        kernel.close(); // idempotent on a dead kernel
    }

    @Test
    void heartbeatLossDeclaresAFrozenKernelDeadAndKillsIt() throws Exception {
        Kernel kernel = python(KernelOptions.builder().runtimeDir(runtimeDir).startupTimeout(Duration.ofSeconds(90))
                .heartbeatInterval(Duration.ofMillis(200)).heartbeatTimeout(Duration.ofSeconds(2)).build());
        assertThat(kernel.execute("'alive'", T).text()).isEqualTo("'alive'");
        CompletableFuture<KernelExecution> pending = kernel.execute(ExecuteRequest.of("import time; time.sleep(30)"));
        java.util.concurrent.atomic.AtomicReference<String> deathThread = new java.util.concurrent.atomic.AtomicReference<>();
        kernel.onDeath().thenRun(() -> deathThread.set(Thread.currentThread().getName()));

        // SIGSTOP: the process lives on but answers nothing, heartbeats included.
        Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(kernel.pid())).start();
        assertThat(stop.waitFor(10, TimeUnit.SECONDS)).isTrue();

        assertThatThrownBy(() -> pending.get(20, TimeUnit.SECONDS))
                .cause().isInstanceOf(KernelDiedException.class)
                .hasMessageContaining("stopped answering heartbeats for 2000 ms")
                .hasMessageContaining(kernel.id());
        await().atMost(Duration.ofSeconds(15)).until(() -> ProcessHandle.of(kernel.pid()).map(p -> !p.isAlive()).orElse(true));
        // Death handlers (a pool's restart logic, user callbacks) never run on the I/O thread.
        assertThat(deathThread.get()).isNotNull().doesNotStartWith("carpo-io");
        kernel.close();
    }

    @Test
    void kernelThatExitsDuringStartupReportsExitCodeAndStderr() throws Exception {
        Path argvOut = runtimeDir.resolve("argv.txt");
        KernelSpec spec = fakeSpec("broken", "[\"/usr/bin/python3\", \"-c\", "
                + "\"import sys; open(sys.argv[1], 'w').write(sys.argv[2]); sys.stderr.write('boom: no module named nothing\\\\n'); sys.exit(3)\", "
                + "\"" + argvOut + "\", \"$HOME;echo {resource_dir}\"]");

        assertThatThrownBy(() -> runtime.start(spec, TestKernels.options(runtimeDir)).get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(KernelStartException.class)
                .hasMessageContaining("kernelspec 'broken'")
                .hasMessageContaining("exited during start-up")
                .hasMessageContaining("exit code 3")
                .hasMessageContaining("boom: no module named nothing");
        // argv went to the process as given, never through a shell: no $HOME expansion, no ';' split.
        assertThat(Files.readString(argvOut)).isEqualTo("$HOME;echo " + spec.resourceDir());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            try (var left = Files.list(runtimeDir)) {
                assertThat(left.map(p -> p.getFileName().toString())).containsExactly("argv.txt");
            }
        });
    }

    @Test
    void startWhosePortWasTakenIsRetriedWithFreshPorts() throws Exception {
        // Fault injection: the first launch fails as ipykernel does when another process took its port.
        Path marker = runtimeDir.resolve("first-launch-done");
        KernelSpec spec = fakeSpec("clash", "[\"/usr/bin/python3\", \"-c\", "
                + "\"import os, sys\\nif not os.path.exists(sys.argv[1]):\\n    open(sys.argv[1], 'w').close()\\n"
                + "    sys.exit('zmq.error.ZMQError: Address already in use')\\n"
                + "os.execv('/usr/bin/python3', ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', sys.argv[2]])\", "
                + "\"" + marker + "\", \"{connection_file}\"]");
        List<Integer> pids = new ArrayList<>();
        Kernel kernel = runtime.start(spec, TestKernels.options(runtimeDir), k -> pids.add((int) k.pid())).get(90, TimeUnit.SECONDS);
        try {
            assertThat(marker).exists();
            assertThat(pids).hasSize(2).doesNotHaveDuplicates();
            assertThat(kernel.execute("6 * 7", T).text()).isEqualTo("42");
        } finally {
            kernel.close();
        }
    }

    @Test
    void missingExecutableFailsAtOnceNamingTheSpec() throws IOException {
        KernelSpec spec = fakeSpec("ghost", "[\"/nonexistent/bin/kernel\", \"{connection_file}\"]");
        int reserved = PortReservations.reservedCount();
        assertThatThrownBy(() -> runtime.start(spec, TestKernels.options(runtimeDir)))
                .isInstanceOf(KernelStartException.class)
                .hasMessageContaining("kernelspec 'ghost'")
                .hasMessageContaining("cannot run /nonexistent/bin/kernel");
        assertThat(PortReservations.reservedCount()).isEqualTo(reserved);
        KernelSpec bare = fakeSpec("bare", "[\"no-such-kernel-binary\", \"{connection_file}\"]");
        assertThatThrownBy(() -> runtime.start(bare, TestKernels.options(runtimeDir)))
                .isInstanceOf(KernelStartException.class)
                .hasMessageContaining("cannot run no-such-kernel-binary: not found on PATH");
        try (var left = Files.list(runtimeDir)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void kernelThatNeverAnswersTimesOutAndIsKilled() throws Exception {
        KernelSpec spec = fakeSpec("mute", "[\"/usr/bin/python3\", \"-c\", \"import sys, time; print('pid up', file=sys.stderr, flush=True); time.sleep(120)\"]");
        CompletableFuture<Kernel> start = runtime.start(spec, KernelOptions.builder().runtimeDir(runtimeDir)
                .startupTimeout(Duration.ofSeconds(2)).shutdownGrace(Duration.ofSeconds(1)).build());
        assertThatThrownBy(() -> start.get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(KernelStartException.class)
                .hasMessageContaining("did not become ready within 2000 ms")
                .hasMessageContaining("pid up");
        await().atMost(Duration.ofSeconds(15)).until(() -> runtime.kernels().stream().noneMatch(k -> k.spec().name().equals("mute")));
        try (var left = Files.list(runtimeDir)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void sixteenKernelsStartAtOnceWithoutPortCollisions() throws Exception {
        List<CompletableFuture<Kernel>> starts = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            starts.add(runtime.start(TestKernels.python(), KernelOptions.builder().runtimeDir(runtimeDir)
                    .startupTimeout(Duration.ofSeconds(180)).build()));
        }
        List<Kernel> kernels = new ArrayList<>();
        try {
            for (CompletableFuture<Kernel> s : starts) {
                kernels.add(s.get(240, TimeUnit.SECONDS));
            }
            Set<Integer> ports = new HashSet<>();
            for (Kernel k : kernels) {
                ports.addAll(k.connectionInfo().ports().values());
            }
            assertThat(ports).hasSize(16 * Channel.values().length);
            List<CompletableFuture<KernelExecution>> runs = new ArrayList<>();
            for (int i = 0; i < kernels.size(); i++) {
                runs.add(kernels.get(i).execute(ExecuteRequest.of("(" + TestKernels.KERNEL_ID + ", " + i + ")")));
            }
            for (int i = 0; i < kernels.size(); i++) {
                assertThat(runs.get(i).get(60, TimeUnit.SECONDS).text()).isEqualTo("('" + kernels.get(i).id() + "', " + i + ")");
            }
        } finally {
            CompletableFuture.allOf(kernels.stream().map(Kernel::shutdown).toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        }
        for (Kernel k : kernels) {
            assertThat(ProcessHandle.of(k.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        }
    }

    @Test
    void messageModeInterruptGoesOverControl() throws Exception {
        KernelSpec python = TestKernels.python();
        Path dir = Files.createDirectories(specDir.resolve("python-msg"));
        Files.writeString(dir.resolve("kernel.json"), "{\"argv\": " + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(python.argv())
                + ", \"display_name\": \"py msg\", \"language\": \"python\", \"interrupt_mode\": \"message\"}");
        KernelSpec spec = KernelSpec.read(dir.resolve("kernel.json"));
        assertThat(spec.interruptMode()).isEqualTo(InterruptMode.MESSAGE);
        Kernel kernel = runtime.start(spec, TestKernels.options(runtimeDir)).get(90, TimeUnit.SECONDS);
        try {
            List<ExecuteRequest> req = new ArrayList<>();
            CountDownLatch running = onFirstOutput(ExecuteRequest.builder("import time\nprint('zz', flush=True)\ntime.sleep(60)"), req);
            CompletableFuture<KernelExecution> sleeping = kernel.execute(req.get(0));
            assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
            kernel.interrupt().get(10, TimeUnit.SECONDS);
            assertThat(sleeping.get(20, TimeUnit.SECONDS).error().ename()).isEqualTo("KeyboardInterrupt");
        } finally {
            kernel.close();
        }
    }

    @Test
    void kernelsDoNotOutliveAJvmKilledWithSigkill() throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", classpath, OrphanCheckMain.class.getName(), runtimeDir.toString())
                .redirectErrorStream(true).start();
        long kernelPid;
        try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream()))) {
            CompletableFuture<Long> pid = CompletableFuture.supplyAsync(() -> {
                try {
                    String line;
                    while ((line = out.readLine()) != null) {
                        if (line.startsWith("KERNEL PID ")) {
                            return Long.parseLong(line.substring(11).trim());
                        }
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                throw new IllegalStateException("child JVM ended without starting a kernel");
            });
            kernelPid = pid.get(120, TimeUnit.SECONDS);
            ProcessHandle kernel = ProcessHandle.of(kernelPid).orElseThrow();
            // Its parent, or in a PID namespace the bwrap init under the bwrap under the JVM.
            List<Long> ancestors = new ArrayList<>();
            for (ProcessHandle p = kernel.parent().orElse(null); p != null && ancestors.size() < 4; p = p.parent().orElse(null)) {
                ancestors.add(p.pid());
            }
            assertThat(ancestors).contains(child.pid());

            child.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();

            // bwrap --die-with-parent ends the kernel's namespace; without bwrap, ipykernel polls its parent (JPY_PARENT_PID).
            await().atMost(Duration.ofSeconds(20)).until(() -> !kernel.isAlive());
        } finally {
            child.destroyForcibly();
        }
    }

    private KernelSpec fakeSpec(String name, String argvJson) throws IOException {
        Path dir = Files.createDirectories(specDir.resolve(name));
        Files.writeString(dir.resolve("kernel.json"), "{\"argv\": " + argvJson + ", \"display_name\": \"" + name + "\", \"language\": \"none\"}");
        return KernelSpec.read(dir.resolve("kernel.json"));
    }
}

package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pools that change size: elastic growth and shrink, scale under load, rejection, close, circuit. */
class ElasticPoolTest {
    @TempDir
    Path dir;
    final PoolTesting testing = new PoolTesting();
    KernelPools pools;

    @BeforeEach
    void start() {
        pools = testing.pools(dir);
    }

    @AfterEach
    void stop() {
        pools.close();
        testing.assertNoKernelLeft();
    }

    @Test
    void elasticPoolGrowsUnderQueuedLoadAndShrinksBackAfterIdleTimeout() throws Exception {
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().min(1).max(3)
                .idleTimeout(Duration.ofSeconds(2)).init("import time, os").build());
        assertThat(py.stats().size()).isEqualTo(1);
        Path go = dir.resolve("go");
        List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(py.submit("while not os.path.exists(%s): time.sleep(0.02)\n".formatted(LanguagePoolTest.pyString(go))
                    + PoolTesting.KERNEL_ID));
        }
        // Queued work makes it grow to max, no further.
        await().atMost(T).until(() -> py.stats().size() == 3 && py.stats().busy() == 3);
        assertThat(py.stats().starting()).isZero();
        java.util.Map<String, Long> pidOf = new java.util.HashMap<>();
        py.stats().instances().forEach(i -> pidOf.put(PoolTesting.kernelIdText(i.kernelId()), i.pid()));
        Files.createFile(go);
        List<Long> pids = new ArrayList<>();
        for (CompletableFuture<ExecutionResult> f : jobs) {
            pids.add(pidOf.get(f.get(60, TimeUnit.SECONDS).text()));
        }
        assertThat(pids).doesNotContainNull();
        assertThat(pids.stream().distinct().count()).isEqualTo(3);
        // Idle again: back to min once the idle timeout has passed, and the extra processes are gone.
        await().atMost(T).until(() -> py.stats().size() == 1);
        await().atMost(T).until(() -> pids.stream().distinct().filter(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false)).count() == 1);
        assertThat(py.stats().retired()).isEqualTo(2);
        assertThat(py.execute("6 * 7").text()).isEqualTo("42");
    }

    @Test
    void roundRobinElasticPoolGrowsUnderQueuedLoadToo() throws Exception {
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().min(1).max(3)
                .strategy(Dispatch.ROUND_ROBIN).idleTimeout(Duration.ofSeconds(2)).init("import time, os").build());
        Path go = dir.resolve("go-rr");
        List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(py.submit("while not os.path.exists(%s): time.sleep(0.02)\n%d".formatted(LanguagePoolTest.pyString(go), i)));
        }
        // The jobs wait on instance 0's queue; the waiting work still makes the pool grow to max, and
        // holds it there: an idle extra is not handed back (and borrowed again) while work waits.
        await().atMost(T).until(() -> py.stats().size() == 3);
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                .until(() -> py.stats().size() == 3 && py.stats().retired() == 0);
        Files.createFile(go);
        for (int i = 0; i < 6; i++) {
            assertThat(jobs.get(i).get(60, TimeUnit.SECONDS).text()).isEqualTo(String.valueOf(i));
        }
    }

    @Test
    void aCallbackThatBlocksOnAnotherJobDoesNotDeadlock() throws Exception {
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).build());
        CompletableFuture<String> chained = py.submit("1").thenApply(r -> py.execute("r = 2\nr").text());
        assertThat(chained.get(30, TimeUnit.SECONDS)).isEqualTo("2");
    }

    @Test
    void scaleUpAndDownUnderLoadLosesNoJob() throws Exception {
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).strategy(Dispatch.ROUND_ROBIN)
                .init("import time").build());
        List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            jobs.add(py.submit("time.sleep(0.05); %d".formatted(i)));
        }
        py.scale(4);
        assertThat(py.stats().size()).isEqualTo(4);
        assertThat(py.stats().min()).isEqualTo(4);
        assertThat(py.stats().max()).isEqualTo(4);
        for (int i = 30; i < 60; i++) {
            jobs.add(py.submit("time.sleep(0.05); %d".formatted(i)));
        }
        py.scale(1);
        for (int i = 60; i < 80; i++) {
            jobs.add(py.submit("time.sleep(0.01); %d".formatted(i)));
        }
        for (int i = 0; i < jobs.size(); i++) {
            ExecutionResult r = jobs.get(i).get(120, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
            assertThat(r.text()).isEqualTo(String.valueOf(i));
        }
        await().atMost(T).until(() -> py.stats().size() == 1);
        assertThat(py.stats().instances()).hasSize(1);
        assertThat(py.stats().retired()).isEqualTo(3);
    }

    @Test
    void roundRobinPlacesSubmissionIOnInstanceIModN() throws Exception {
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(3).strategy(Dispatch.ROUND_ROBIN)
                .init("import os").build());
        List<String> ids = py.stats().instances().stream().map(PoolStats.Instance::kernelId).toList();
        List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            jobs.add(py.submit(PoolTesting.KERNEL_ID));
        }
        for (int i = 0; i < 12; i++) {
            ExecutionResult r = jobs.get(i).get(60, TimeUnit.SECONDS);
            assertThat(r.instance()).as("submission %d", i).isEqualTo(i % 3);
            assertThat(r.text()).isEqualTo(PoolTesting.kernelIdText(ids.get(i % 3)));
        }
    }

    @Test
    void fullQueueRejectsAtOnce() throws Exception {
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).maxQueued(2).init("import time").build());
        CompletableFuture<ExecutionResult> running = py.submit("time.sleep(2); 'a'");
        await().atMost(T).until(() -> py.stats().busy() == 1);
        CompletableFuture<ExecutionResult> q1 = py.submit("'b'");
        CompletableFuture<ExecutionResult> q2 = py.submit("'c'");
        CompletableFuture<ExecutionResult> refused = py.submit("'d'");
        assertThat(refused).isCompletedExceptionally();
        assertThatThrownBy(refused::join).cause().isInstanceOf(PoolRejectedException.class)
                .hasMessageContaining("queue is full (2 jobs waiting, maxQueued 2)");
        assertThat(running.get(30, TimeUnit.SECONDS).text()).isEqualTo("'a'");
        assertThat(q1.get(30, TimeUnit.SECONDS).text()).isEqualTo("'b'");
        assertThat(q2.get(30, TimeUnit.SECONDS).text()).isEqualTo("'c'");
        assertThat(py.stats().rejected()).isEqualTo(1);
    }

    @Test
    void closeFailsPendingWorkClearlyAndLeavesNoKernel() throws Exception {
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).init("import time").build());
        List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(py.submit("time.sleep(30)"));
        }
        await().atMost(T).until(() -> py.stats().busy() == 2);
        pools.shutdownPool("python");
        for (CompletableFuture<ExecutionResult> f : jobs) {
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(PoolClosedException.class)
                    .hasMessageContaining("pool 'python'").hasMessageContaining("shut down");
        }
        assertThat(py.state()).isEqualTo(PoolState.CLOSED);
        assertThat(pools.pools()).isEmpty();
        testing.assertNoKernelLeft();
        assertThatThrownBy(() -> py.submit("1").join()).cause().isInstanceOf(PoolClosedException.class);
        // The language key is free again.
        LanguagePool again = pools.createPool("python", "python3", PoolOptions.builder().size(1).build());
        assertThat(again.execute("1 + 1").text()).isEqualTo("2");
    }

    @Test
    void badKernelspecFailsCreatePoolWithTheCause() throws Exception {
        Path spec = Files.createDirectories(dir.resolve("specs/broken"));
        Files.writeString(spec.resolve("kernel.json"), """
                {"argv": ["/usr/bin/python3", "-c", "import sys; sys.stderr.write('ModuleNotFoundError: no module named kernel_x\\\\n'); sys.exit(7)"],
                 "display_name": "broken", "language": "python"}""");
        assertThatThrownBy(() -> pools.createPool("broken", spec.toString(), PoolOptions.builder().size(2)
                .maxStartAttempts(2).restartBackoff(Duration.ofMillis(100)).build()))
                .isInstanceOf(PoolFailedException.class)
                .hasMessageContaining("pool 'broken'")
                .hasMessageContaining("kernelspec 'broken'")
                .hasMessageContaining("exit code 7")
                .hasMessageContaining("no module named kernel_x");
        assertThat(pools.pools()).doesNotContainKey("broken");
        assertThatThrownBy(() -> pools.createPool("nope", "no-such-spec", PoolOptions.builder().build()))
                .isInstanceOf(PoolFailedException.class).hasMessageContaining("no kernelspec named 'no-such-spec'")
                .hasMessageContaining("/usr/share/jupyter/kernels/no-such-spec/kernel.json");
        assertThatThrownBy(() -> PoolOptions.builder().min(3).max(2).build()).hasMessageContaining("min (3) is greater than max (2)");
    }

    @Test
    void repeatedStartFailuresOpenTheCircuitUntilTheKernelStartsAgain() throws Exception {
        // A real ipykernel behind a wrapper that refuses to start while a flag file exists.
        Path flag = dir.resolve("broken.flag");
        Path spec = Files.createDirectories(dir.resolve("specs/flaky"));
        Files.writeString(spec.resolve("launch.py"), """
                import os, sys
                if os.path.exists(%s):
                    sys.stderr.write('refusing to start: flag file present\\n')
                    sys.exit(3)
                os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', '-f', sys.argv[1]])
                """.formatted(LanguagePoolTest.pyString(flag)));
        Files.writeString(spec.resolve("kernel.json"), """
                {"argv": ["/usr/bin/python3", "{resource_dir}/launch.py", "{connection_file}"],
                 "display_name": "flaky", "language": "python"}""");
        LanguagePool py = pools.createPool("flaky", spec.toString(), PoolOptions.builder().size(1)
                .maxStartAttempts(2).restartBackoff(Duration.ofMillis(200)).build());
        assertThat(py.execute("1").text()).isEqualTo("1");

        Files.createFile(flag);
        ProcessHandle.of(py.stats().instances().get(0).pid()).orElseThrow().destroyForcibly();
        await().atMost(T).until(() -> py.state() == PoolState.FAILED);
        PoolStats failed = py.stats();
        assertThat(failed.failure()).contains("refusing to start: flag file present").contains("exit code 3");
        assertThat(failed.startFailures()).isGreaterThanOrEqualTo(1); // plus the kernel that died young
        CompletableFuture<ExecutionResult> refused = py.submit("1");
        assertThat(refused).isCompletedExceptionally();
        assertThatThrownBy(refused::join).cause().isInstanceOf(PoolFailedException.class)
                .hasMessageContaining("refusing to start");

        Files.delete(flag);
        await().atMost(T).until(() -> py.state() == PoolState.RUNNING);
        assertThat(py.execute("2 + 2").text()).isEqualTo("4");
    }

    @Test
    void aKernelThatCrashesRightAfterStartingIsRestartedWithBackoffUntilTheCircuitOpens() throws Exception {
        // A real ipykernel that kills itself 0.5 s after its init code, i.e. just after joining the
        // pool. (Timed from launch instead, a slow start on a loaded machine made it a start failure.)
        Path spec = Files.createDirectories(dir.resolve("specs/crashy"));
        Files.writeString(spec.resolve("launch.py"), """
                import sys
                from ipykernel import kernelapp
                sys.argv = ['ipykernel_launcher', '-f', sys.argv[1]]
                kernelapp.launch_new_instance()
                """);
        Files.writeString(spec.resolve("kernel.json"), """
                {"argv": ["/usr/bin/python3", "{resource_dir}/launch.py", "{connection_file}"],
                 "display_name": "crashy", "language": "python"}""");
        LanguagePool py = pools.createPool("crashy", spec.toString(), PoolOptions.builder().size(1)
                .init("import os, threading; threading.Timer(0.5, lambda: os._exit(9)).start()").maxStartAttempts(3).restartBackoff(Duration.ofMillis(300)).build());
        await().atMost(T).until(() -> py.state() == PoolState.FAILED);
        PoolStats s = py.stats();
        // Deaths once in the pool; a crash that beats the slot (a loaded machine) is a start failure.
        assertThat(s.deaths() + s.startFailures()).isGreaterThanOrEqualTo(3);
        assertThat(s.failure()).contains("exit code 9");
        // Backoff, not a tight loop: three crashes of a kernel that lives 0.5 s, and then the circuit.
        assertThat(s.restarts()).isLessThanOrEqualTo(s.deaths());
        assertThatThrownBy(() -> py.submit("1").join()).cause().isInstanceOf(PoolFailedException.class);
    }

    @Test
    void kernelThatDiesDuringInitCodeCountsAsAStartFailure() {
        assertThatThrownBy(() -> pools.createPool("python", "python3", PoolOptions.builder().size(1)
                .init("import no_such_module_anywhere").maxStartAttempts(1).build()))
                .isInstanceOf(PoolFailedException.class)
                .hasMessageContaining("init code failed")
                .hasMessageContaining("ModuleNotFoundError");
    }

}

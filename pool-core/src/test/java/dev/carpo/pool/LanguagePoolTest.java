package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fixed python pool of three ipykernels (LEAST_BUSY), shared by tests that leave it as they found it. */
class LanguagePoolTest {
    @TempDir
    static Path dir;
    static final PoolTesting testing = new PoolTesting();
    static KernelPools pools;
    static LanguagePool py;

    @BeforeAll
    static void start() {
        pools = testing.pools(dir);
        py = pools.createPool("python", "python3", PoolOptions.builder().size(3).strategy(Dispatch.LEAST_BUSY)
                .init("import os, time").interruptGrace(Duration.ofSeconds(3)).build());
    }

    @AfterAll
    static void stop() {
        pools.close();
        testing.assertNoKernelLeft();
    }

    private static long pid(int instance) {
        return py.stats().instances().get(instance).pid();
    }

    /** Waits until every instance is idle again (a test may leave an interrupted job finishing). */
    private static void awaitQuiet() {
        await().atMost(T).until(() -> py.stats().busy() == 0 && py.stats().queued() == 0 && py.stats().size() == 3
                && py.stats().instances().stream().allMatch(i -> i.state() == InstanceState.IDLE));
    }

    @Test
    void createPoolReturnsWithMinReadyAndRunsInitCode() {
        PoolStats s = py.stats();
        assertThat(s.state()).isEqualTo(PoolState.RUNNING);
        assertThat(s.size()).isEqualTo(3);
        assertThat(s.min()).isEqualTo(3);
        assertThat(s.max()).isEqualTo(3);
        assertThat(s.instances()).extracting(PoolStats.Instance::pid).doesNotHaveDuplicates();
        ExecutionResult r = py.execute(PoolTesting.KERNEL_ID);
        assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
        assertThat(r.text()).isEqualTo(PoolTesting.kernelIdText(s.instances().get(r.instance()).kernelId()));
        assertThat(r.kernelId()).isEqualTo(s.instances().get(r.instance()).kernelId());
        assertThat(r.queueWait().isNegative()).isFalse();
        assertThat(pools.pool("python")).isSameAs(py);
        assertThat(pools.pools()).containsOnlyKeys("python");
        assertThatThrownBy(() -> pools.pool("cobol")).hasMessageContaining("no pool for language 'cobol'").hasMessageContaining("python");
    }

    @Test
    void targetedJobsRunOnTheNamedInstance() throws Exception {
        for (int i = 0; i < 3; i++) {
            ExecutionResult r = py.submit(PoolTesting.KERNEL_ID, ExecuteOptions.builder().instance(i).build()).get(60, TimeUnit.SECONDS);
            assertThat(r.instance()).isEqualTo(i);
            assertThat(r.text()).isEqualTo(PoolTesting.kernelIdText(py.stats().instances().get(i).kernelId()));
        }
        assertThatThrownBy(() -> py.submit("1", ExecuteOptions.builder().instance(3).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pool 'python' has 3 instance(s) (0..2); instance 3 is out of range");
    }

    @Test
    void leastBusyIsWorkConserving() throws Exception {
        awaitQuiet();
        Path flag = dir.resolve("release-long-" + System.nanoTime());
        CompletableFuture<ExecutionResult> longJob = py.submit(
                "while not os.path.exists(%s): time.sleep(0.02)\nos.getpid()".formatted(pyString(flag)));
        await().atMost(T).until(() -> py.stats().busy() == 1);
        List<CompletableFuture<ExecutionResult>> shorts = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            shorts.add(py.submit("time.sleep(0.05); os.getpid()"));
        }
        Set<Integer> used = new HashSet<>();
        for (CompletableFuture<ExecutionResult> f : shorts) {
            used.add(f.get(60, TimeUnit.SECONDS).instance());
        }
        // All twelve finished on the two free instances while the long job still held the third.
        assertThat(longJob).isNotDone();
        int longInstance = py.stats().instances().stream().filter(i -> i.state() == InstanceState.BUSY).findFirst().orElseThrow().index();
        assertThat(used).hasSize(2).doesNotContain(longInstance);
        Files.createFile(flag);
        assertThat(longJob.get(60, TimeUnit.SECONDS).instance()).isEqualTo(longInstance);
    }

    @Test
    void oneJobsErrorNeverTouchesAnother() throws Exception {
        List<CompletableFuture<ExecutionResult>> fs = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            fs.add(py.submit(i % 3 == 0 ? "raise ValueError('job %d')".formatted(i) : "%d * 2".formatted(i),
                    ExecuteOptions.builder().instance(i % 3).build()));
        }
        for (int i = 0; i < 9; i++) {
            ExecutionResult r = fs.get(i).get(60, TimeUnit.SECONDS);
            if (i % 3 == 0) {
                assertThat(r.status()).isEqualTo(ExecutionStatus.ERROR);
                assertThat(r.error().toString()).isEqualTo("ValueError: job " + i);
                assertThat(r.text()).isNull();
            } else {
                assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
                assertThat(r.text()).isEqualTo(String.valueOf(i * 2));
            }
        }
    }

    @Test
    void leaseIsExclusiveAndKeepsState() throws Exception {
        awaitQuiet();
        try (KernelLease lease = py.lease()) {
            assertThat(lease.execute("x = 41").status()).isEqualTo(ExecutionStatus.OK);
            List<CompletableFuture<ExecutionResult>> others = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                others.add(py.submit("time.sleep(0.02); os.getpid()"));
            }
            for (CompletableFuture<ExecutionResult> f : others) {
                assertThat(f.get(60, TimeUnit.SECONDS).instance()).isNotEqualTo(lease.instance());
            }
            ExecutionResult r = lease.execute("x + 1");
            assertThat(r.text()).isEqualTo("42");
            assertThat(r.instance()).isEqualTo(lease.instance());
            assertThat(py.stats().leased()).isEqualTo(1);
            // A job aimed at the leased instance waits for the lease to end.
            CompletableFuture<ExecutionResult> aimed = py.submit("x", ExecuteOptions.builder().instance(lease.instance()).build());
            assertThat(lease.execute("'still mine'").text()).isEqualTo("'still mine'");
            assertThat(aimed).isNotDone();
            lease.close();
            assertThat(aimed.get(60, TimeUnit.SECONDS).text()).isEqualTo("41");
            assertThatThrownBy(() -> lease.submit("1")).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
        }
        await().atMost(T).until(() -> py.stats().leased() == 0);
    }

    @Test
    void timeoutInterruptsTheKernelAndOtherJobsGoOn() throws Exception {
        awaitQuiet();
        long restartsBefore = py.stats().restarts();
        CompletableFuture<ExecutionResult> slow = py.submit("time.sleep(60)",
                ExecuteOptions.builder().instance(0).timeout(Duration.ofSeconds(1)).build());
        CompletableFuture<ExecutionResult> next = py.submit("'after'", ExecuteOptions.builder().instance(0).build());
        CompletableFuture<ExecutionResult> elsewhere = py.submit("'elsewhere'", ExecuteOptions.builder().instance(1).build());
        assertThatThrownBy(() -> slow.get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(PoolTimeoutException.class)
                .hasMessageContaining("pool 'python' instance 0").hasMessageContaining("did not complete within 1000 ms");
        assertThat(elsewhere.get(30, TimeUnit.SECONDS).text()).isEqualTo("'elsewhere'");
        // The interrupt freed instance 0 well before the 60 s sleep would have ended.
        assertThat(next.get(30, TimeUnit.SECONDS).text()).isEqualTo("'after'");
        assertThat(py.stats().restarts()).isEqualTo(restartsBefore);
    }

    /**
     * ipykernel ignores SIGINT until it begins a cell, so an interrupt sent in between is lost. A
     * stopped kernel holds the job unstarted past its timeout; once it resumes and begins the cell,
     * the pool interrupts it then, instead of waiting out the grace period and replacing the kernel.
     */
    @Test
    void aJobThatTimesOutBeforeTheKernelBeginsItIsInterruptedWhenItDoes() throws Exception {
        awaitQuiet();
        long restartsBefore = py.stats().restarts();
        String kernelId = py.stats().instances().get(2).kernelId();
        signal("STOP", pid(2));
        CompletableFuture<ExecutionResult> slow;
        try {
            slow = py.submit("time.sleep(60)", ExecuteOptions.builder().instance(2).timeout(Duration.ofMillis(300)).build());
            assertThatThrownBy(() -> slow.get(30, TimeUnit.SECONDS))
                    .cause().isInstanceOf(PoolTimeoutException.class).hasMessageContaining("did not complete within 300 ms");
        } finally {
            signal("CONT", pid(2));
        }
        ExecutionResult after = py.submit("'after'", ExecuteOptions.builder().instance(2).build()).get(30, TimeUnit.SECONDS);
        assertThat(after.text()).isEqualTo("'after'");
        assertThat(after.kernelId()).as("the same kernel, interrupted rather than replaced").isEqualTo(kernelId);
        assertThat(py.stats().restarts()).isEqualTo(restartsBefore);
    }

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    @Test
    void queuedJobTimesOutWithoutRunning() throws Exception {
        awaitQuiet();
        Path marker = dir.resolve("never-" + System.nanoTime());
        CompletableFuture<ExecutionResult> blocker = py.submit("time.sleep(3)", ExecuteOptions.builder().instance(2).build());
        CompletableFuture<ExecutionResult> queued = py.submit("open(%s, 'w').close()".formatted(pyString(marker)),
                ExecuteOptions.builder().instance(2).timeout(Duration.ofMillis(500)).build());
        assertThatThrownBy(() -> queued.get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(PoolTimeoutException.class).hasMessageContaining("did not start within 500 ms");
        blocker.get(30, TimeUnit.SECONDS);
        assertThat(py.submit("1", ExecuteOptions.builder().instance(2).build()).get(30, TimeUnit.SECONDS).text()).isEqualTo("1");
        assertThat(marker).doesNotExist();
    }

    @Test
    void cancelRemovesAQueuedJobAndInterruptsARunningOne() throws Exception {
        awaitQuiet();
        Path marker = dir.resolve("cancelled-" + System.nanoTime());
        CompletableFuture<ExecutionResult> running = py.submit("time.sleep(60)", ExecuteOptions.builder().instance(1).build());
        CompletableFuture<ExecutionResult> queuedJob = py.submit("open(%s, 'w').close()".formatted(pyString(marker)),
                ExecuteOptions.builder().instance(1).build());
        await().atMost(T).until(() -> py.stats().instances().get(1).state() == InstanceState.BUSY);
        assertThat(queuedJob.cancel(true)).isTrue();
        assertThat(running.cancel(true)).isTrue();
        assertThatThrownBy(running::get).isInstanceOf(CancellationException.class);
        // Interrupted: instance 1 takes new work long before the sleep would end.
        assertThat(py.submit("'free'", ExecuteOptions.builder().instance(1).build()).get(30, TimeUnit.SECONDS).text()).isEqualTo("'free'");
        assertThat(marker).doesNotExist();
        assertThat(py.stats().cancelled()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void stuckKernelIsReplacedAfterTheInterruptGrace() throws Exception {
        awaitQuiet();
        long restartsBefore = py.stats().restarts();
        long oldPid = pid(2);
        CompletableFuture<ExecutionResult> stuck = py.submit(
                "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)",
                ExecuteOptions.builder().instance(2).timeout(Duration.ofSeconds(1)).build());
        assertThatThrownBy(() -> stuck.get(30, TimeUnit.SECONDS)).cause().isInstanceOf(PoolTimeoutException.class);
        await().atMost(T).until(() -> py.stats().restarts() == restartsBefore + 1 && py.stats().instances().get(2).kernelId() != null);
        assertThat(pid(2)).isNotEqualTo(oldPid);
        assertThat(ProcessHandle.of(oldPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        // The replacement ran the init code: os and time are there.
        assertThat(py.submit("os.getpid() > 0 and time.time() > 0", ExecuteOptions.builder().instance(2).build())
                .get(60, TimeUnit.SECONDS).text()).isEqualTo("True");
    }

    @Test
    void sigkillOfABusyKernelFailsOnlyItsJobAndThePoolHeals() throws Exception {
        awaitQuiet();
        long restartsBefore = py.stats().restarts();
        String doomedKernel = py.stats().instances().get(0).kernelId();
        CompletableFuture<ExecutionResult> doomed = py.submit("time.sleep(60)", ExecuteOptions.builder().instance(0).build());
        CompletableFuture<ExecutionResult> queuedBehind = py.submit("'survived'", ExecuteOptions.builder().instance(0).build());
        List<CompletableFuture<ExecutionResult>> others = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            others.add(py.submit("time.sleep(0.1); %d".formatted(i), ExecuteOptions.builder().instance(1 + i % 2).build()));
        }
        await().atMost(T).until(() -> py.stats().instances().get(0).state() == InstanceState.BUSY);
        ProcessHandle.of(pid(0)).orElseThrow().destroyForcibly();

        assertThatThrownBy(() -> doomed.get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(PoolKernelDiedException.class)
                .hasMessageContaining("pool 'python' instance 0").hasMessageContaining(doomedKernel)
                .hasMessageContaining("exit code 137");
        for (int i = 0; i < 6; i++) {
            assertThat(others.get(i).get(60, TimeUnit.SECONDS).text()).isEqualTo(String.valueOf(i));
        }
        // The job queued behind it is not lost: it runs on the replacement.
        ExecutionResult survived = queuedBehind.get(60, TimeUnit.SECONDS);
        assertThat(survived.text()).isEqualTo("'survived'");
        assertThat(survived.kernelId()).isNotEqualTo(doomedKernel);
        assertThat(py.stats().restarts()).isEqualTo(restartsBefore + 1);
        assertThat(py.stats().size()).isEqualTo(3);
        assertThat(testing.events).anyMatch(e -> e.type() == PoolEvent.Type.DEAD && e.kernelId().equals(doomedKernel) && e.instance() == 0);
        assertThat(testing.events).anyMatch(e -> e.type() == PoolEvent.Type.RESTARTED && e.instance() == 0);
    }

    @Test
    void broadcastReachesEveryInstanceAndEveryFutureOne() throws Exception {
        awaitQuiet();
        List<ExecutionResult> results = py.broadcast("MAGIC = 'abracadabra'");
        assertThat(results).hasSize(3).allMatch(r -> r.status() == ExecutionStatus.OK);
        assertThat(results).extracting(ExecutionResult::instance).containsExactly(0, 1, 2);
        try {
            py.scale(4);
            assertThat(py.stats().size()).isEqualTo(4);
            ExecutionResult fresh = py.submit("MAGIC", ExecuteOptions.builder().instance(3).build()).get(60, TimeUnit.SECONDS);
            assertThat(fresh.text()).isEqualTo("'abracadabra'");
        } finally {
            py.scale(3);
        }
        assertThat(py.stats().size()).isEqualTo(3);
    }

    @Test
    void aBroadcastQueuedForAKernelThatDiesRunsOnceOnItsReplacement() throws Exception {
        awaitQuiet();
        String doomedKernel = py.stats().instances().get(0).kernelId();
        CompletableFuture<ExecutionResult> doomed = py.submit("time.sleep(60)", ExecuteOptions.builder().instance(0).build());
        await().atMost(T).until(() -> py.stats().instances().get(0).state() == InstanceState.BUSY);
        CompletableFuture<List<ExecutionResult>> counted = py.broadcastAsync("RUNS = globals().get('RUNS', 0) + 1");
        ProcessHandle.of(pid(0)).orElseThrow().destroyForcibly(); // before instance 0 got to the broadcast

        assertThatThrownBy(() -> doomed.get(30, TimeUnit.SECONDS)).cause().isInstanceOf(PoolKernelDiedException.class);
        List<ExecutionResult> results = counted.get(90, TimeUnit.SECONDS);
        assertThat(results).hasSize(3).allMatch(r -> r.status() == ExecutionStatus.OK);
        assertThat(results.get(0).kernelId()).isNotEqualTo(doomedKernel); // answered by the replacement's run at start
        for (int i = 0; i < 3; i++) {
            assertThat(py.execute("RUNS", ExecuteOptions.builder().instance(i).build()).text())
                    .as("instance %d ran the broadcast exactly once", i).isEqualTo("1");
        }
    }

    @Test
    void eventsNameThePoolInstanceAndKernel() {
        assertThat(testing.count(PoolEvent.Type.STARTING)).isGreaterThanOrEqualTo(3);
        assertThat(testing.events).filteredOn(e -> e.type() == PoolEvent.Type.READY)
                .allSatisfy(e -> {
                    assertThat(e.language()).isEqualTo("python");
                    assertThat(e.instance()).isGreaterThanOrEqualTo(0);
                    assertThat(e.kernelId()).isNotBlank();
                    assertThat(e.elapsed()).isPositive();
                    assertThat(e.toString()).contains("python[").contains("ready in");
                });
        // Per kernel, STARTING comes before READY.
        for (PoolEvent ready : testing.events.stream().filter(e -> e.type() == PoolEvent.Type.READY).toList()) {
            int readyAt = testing.events.indexOf(ready);
            int startAt = -1;
            for (int i = 0; i < testing.events.size(); i++) {
                PoolEvent e = testing.events.get(i);
                if (e.type() == PoolEvent.Type.STARTING && e.kernelId().equals(ready.kernelId())) {
                    startAt = i;
                }
            }
            assertThat(startAt).isBetween(0, readyAt);
        }
    }

    static String pyString(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}

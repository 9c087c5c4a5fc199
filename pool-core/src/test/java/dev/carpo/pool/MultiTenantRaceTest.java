package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.kernel.JupyterPaths;
import dev.carpo.pool.kernel.KernelSpecs;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recycling and fresh-lease races a review found, each fixed, made deterministic with FakeKernel (each doc says what went wrong before). */
class MultiTenantRaceTest {
    private static final Duration T = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private final FakeKernel fake = new FakeKernel();
    private final PoolTesting events = new PoolTesting();
    private KernelPools pools;

    @BeforeEach
    void start() throws Exception {
        FakeKernel.writeSpec(dir);
        pools = KernelPools.builder()
                .kernelSpecs(new KernelSpecs(new JupyterPaths(Map.of("JUPYTER_PATH", dir.toString()), dir)))
                .runtimeDir(dir.resolve("runtime"))
                .build();
        pools.addListener(events);
        pools.runtime().serveInProcess(FakeKernel.PROVISIONER, fake);
    }

    @AfterEach
    void stop() {
        fake.openAll();
        pools.close();
    }

    private static PoolOptions.Builder options() {
        return PoolOptions.builder()
                .startupTimeout(T)
                .restartBackoff(Duration.ofMillis(10))
                .maxStartAttempts(5)
                .interruptGrace(Duration.ofSeconds(5))
                .shutdownGrace(Duration.ofSeconds(2))
                .defaultTimeout(Duration.ofSeconds(20));
    }

    /**
     * R1. Round-robin places jobs on a kernel that has run its maxExecutions; that instance is then
     * scaled down while busy. Retiring, it never hands over (handOverIfReady skips retiring), takes no
     * job (takesJobs), is never idle (its queue holds the job) so it is never retired, and gets no
     * successor (reconcile skips retiring): the job waits until its timeout.
     */
    @Test
    void aJobQueuedOnAScaledDownExhaustedKernelRunsElsewhere() throws Exception {
        LanguagePool pool = pools.createPool("fake", "fake", options().size(2).strategy(Dispatch.ROUND_ROBIN).maxExecutions(1).build());
        CompletableFuture<ExecutionResult> a = pool.submit("hold a");   // instance 0
        fake.awaitReached("a");
        CompletableFuture<ExecutionResult> b = pool.submit("hold b");   // instance 1
        fake.awaitReached("b");
        CompletableFuture<ExecutionResult> c = pool.submit("c");        // queued on instance 0
        CompletableFuture<ExecutionResult> d = pool.submit("d", ExecuteOptions.builder().timeout(Duration.ofSeconds(6)).build()); // on 1
        pool.scaleAsync(1).get(T.toMillis(), TimeUnit.MILLISECONDS);   // instance 1 (busy) is retiring
        fake.open("a");
        fake.open("b");
        assertThat(c.get(T.toMillis(), TimeUnit.MILLISECONDS).text()).isEqualTo("c");
        // Before the fix: PoolTimeoutException "did not start within 6000 ms", the instance RETIRING with queued=1 for good.
        ExecutionResult r = d.get(T.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(r.text()).isEqualTo("d");
        await().atMost(T).until(() -> pool.stats().instances().size() == 1);
    }

    /**
     * R2. A fresh-leases elastic pool discards a used kernel whose successor (maxExecutions) is still
     * starting, and drops its instance (above min). The successor's borrow is then counted nowhere in
     * maxTotal (updateBounds), so the next borrow blocks for commons-pool2's maxWait (2 s) and fails
     * as a start failure, though nothing is wrong.
     */
    @Test
    void aSuccessorLeftStartingByItsInstanceNeverMakesABorrowWait() throws Exception {
        LanguagePool pool = pools.createPool("fake", "fake", options().min(1).max(2).freshLeases(true).maxExecutions(1)
                .idleTimeout(Duration.ofMinutes(5)).build());
        KernelLease l1 = pool.lease(T);                 // instance 0
        KernelLease l2 = pool.lease(T);                 // grows instance 1
        fake.holdNextStart("successor");
        assertThat(l2.execute("x").text()).isEqualTo("x"); // instance 1 is due: its successor starts, held
        fake.awaitReached("successor");
        l2.close();                                      // discarded; instance 1 removed (above min); successor orphaned
        await().atMost(T).until(() -> pool.stats().size() == 1);
        // l1 still holds instance 0: the pool grows to max again while the orphan is still starting, and the
        // lease comes from that new start at once (before the fix the borrow waited maxWait, 2 s, and failed).
        KernelLease l3 = pool.leaseAsync(Duration.ofSeconds(15)).get(T.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(pool.stats().startFailures()).as("start failures with nothing wrong").isZero();
        fake.open("successor");
        l3.close();
        l1.close();
    }

    /**
     * R3. Each kernel that joins schedules a maxLifetime timer that is never cancelled: with fresh
     * leases every lease makes a new kernel, so the timer queue (and the kernels, instances and engine
     * it references) grows with the number of leases for maxLifetime, and outlives close().
     */
    @Test
    void aKernelsTimersGoWithIt() throws Exception {
        LanguagePool pool = pools.createPool("fake", "fake", options().size(1).freshLeases(true).maxLifetime(Duration.ofHours(1)).build());
        for (int i = 0; i < 40; i++) {
            try (KernelLease l = pool.lease(T)) {
                l.execute("x");
            }
        }
        Field f = KernelPools.class.getDeclaredField("scheduler");
        f.setAccessible(true);
        ScheduledThreadPoolExecutor scheduler = (ScheduledThreadPoolExecutor) f.get(pools);
        await().atMost(T).until(() -> pool.stats().reason(PoolEvent.Reason.LEASE_END) == 40);
        int queued = scheduler.getQueue().size();
        pool.close();
        int afterClose = scheduler.getQueue().size();
        assertThat(afterClose).as("timers left by a closed pool").isLessThan(5);
    }

    /**
     * R4. A successor that dies while it waits is replaced at once (died(): successor(null), pump),
     * without the start circuit or backoff that an early death of a serving kernel goes through, and
     * without a DEAD event or a count: a successor that always dies soon after its start is restarted
     * in a loop while the stats show nothing.
     */
    @Test
    void successorsThatDieYoungBackOffAndAreCountedAsFailedStarts() throws Exception {
        LanguagePool pool = pools.createPool("fake", "fake", options().size(1).maxExecutions(1).restartBackoff(Duration.ofSeconds(3))
                .maxStartAttempts(3).build());
        CompletableFuture<ExecutionResult> held = pool.submit("hold busy"); // the old kernel stays busy; it is due
        fake.awaitReached("busy");
        FakeKernel.Instance successor = fake.awaitInstance(1);
        await().atMost(T).until(() -> pool.stats().starting() == 0); // ready, waiting beside the busy kernel
        successor.die();
        await().atMost(T).until(() -> pool.stats().startFailures() == 1);
        // Backing off (3 s): no new successor for a second; before the fix, one was started at once, in a loop.
        int started = fake.instances().size();
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> fake.instances().size() == started);
        FakeKernel.Instance next = fake.awaitInstance(started);
        fake.open("busy");
        held.get(T.toMillis(), TimeUnit.MILLISECONDS);
        await().atMost(T).until(() -> pool.stats().reason(PoolEvent.Reason.EXECUTIONS) == 1);
        assertThat(pool.execute("after").kernelId()).isEqualTo(next.kernelId);
    }

    /**
     * R2b. While a borrow waits (R2), commons-pool2's invalidateObject runs ensureIdle(1, false): it
     * creates a kernel on the thread that invalidates, here a caller's KernelLease.close().
     */
    @Test
    void releasingALeaseNeverStartsAKernelOnTheCallersThread() throws Exception {
        LanguagePool pool = pools.createPool("fake", "fake", options().min(1).max(2).freshLeases(true).maxExecutions(1)
                .idleTimeout(Duration.ofMinutes(5)).build());
        KernelLease l1 = pool.lease(T);
        KernelLease l2 = pool.lease(T);
        fake.holdNextStart("successor");
        l2.execute("x");
        fake.awaitReached("successor");
        l2.close();
        await().atMost(T).until(() -> pool.stats().size() == 1);
        CompletableFuture<KernelLease> l3 = pool.leaseAsync(Duration.ofSeconds(15));
        await().atMost(T).until(() -> l3.isDone() || pool.stats().starting() >= 1); // the borrow for l3 is out
        fake.holdNextStart("inline");
        // Before the fix the borrow waited (maxTotal), and close()'s invalidate then created a kernel inline, held here.
        CompletableFuture<Void> closing = CompletableFuture.runAsync(l1::close);
        closing.get(T.toMillis(), TimeUnit.MILLISECONDS);
        fake.openAll();
        l3.get(T.toMillis(), TimeUnit.MILLISECONDS).close();
    }
}

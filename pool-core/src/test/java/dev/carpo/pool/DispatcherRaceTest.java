package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.kernel.JupyterPaths;
import dev.carpo.pool.kernel.KernelSpecs;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import java.lang.reflect.Field;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The dispatcher's races, made deterministic with {@link FakeKernel}: in-process kernels the pool
 * starts, signals and kills through its ordinary start path, which the test holds and releases at
 * exactly the step each race needs. Each test fails when the part of the engine
 * ({@code dev.carpo.pool.engine}) it names is taken out (each was checked so). Only the public pool API is used, plus {@link KernelPools#runtime()}.
 */
class DispatcherRaceTest {
    /** Waits for things that happen at once unless broken: bounded, never a sleep. */
    private static final Duration T = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private final FakeKernel fake = new FakeKernel();
    private final PoolTesting events = new PoolTesting();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private KernelPools pools;

    @BeforeEach
    void start() throws Exception {
        FakeKernel.writeSpec(dir);
        pools = KernelPools.builder()
                .kernelSpecs(new KernelSpecs(new JupyterPaths(Map.of("JUPYTER_PATH", dir.toString()), dir)))
                .runtimeDir(dir.resolve("runtime"))
                .meterRegistry(registry)
                .build();
        pools.addListener(events);
        pools.runtime().serveInProcess(FakeKernel.PROVISIONER, fake);
    }

    @AfterEach
    void stop() {
        fake.openAll();
        pools.close();
        // Every fake ended, and its server's threads with it.
        await().atMost(T).untilAsserted(() -> {
            for (FakeKernel.Instance k : fake.instances()) {
                assertThat(k.onExit()).as("%s ended", k).isDone();
                assertThat(k.liveThreads()).as("threads of %s", k).isEmpty();
            }
        });
    }

    /** Short everything, except the grace a surviving kernel must not outlive by accident under load. */
    private static PoolOptions.Builder options() {
        return PoolOptions.builder()
                .startupTimeout(T)
                .restartBackoff(Duration.ofMillis(10))
                .maxStartAttempts(5)
                .interruptGrace(Duration.ofSeconds(5))
                .shutdownGrace(Duration.ofSeconds(2))
                .defaultTimeout(Duration.ofSeconds(20));
    }

    private LanguagePool pool(PoolOptions options) {
        return pools.createPool("fake", "fake", options);
    }

    private double borrows() {
        return registry.get("carpo.objectpool.borrows").tag("pool", "fake").functionCounter().count();
    }

    private static <V> V get(CompletableFuture<V> future) throws Exception {
        return future.get(T.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** As {@link #get(CompletableFuture)}, failing with what did not happen rather than a bare TimeoutException. */
    private static <V> V get(CompletableFuture<V> future, String what) throws Exception {
        try {
            return get(future);
        } catch (TimeoutException e) {
            throw new AssertionError(what + ": not within " + T.toSeconds() + " s", e);
        }
    }

    private static ExecuteOptions on(int instance) {
        return ExecuteOptions.builder().instance(instance).build();
    }

    // ---- 1. elastic livelock (852b4b8: shrinkElastic waits while queued > 0) ----

    /**
     * Instance 0 is held and a job waits on its own queue (round-robin over the one instance there
     * was, or targeted at it): the pool grows an extra for the waiting work, which stays idle. Handed
     * back while the job waits, reconcile would borrow it straight back, round and round; the
     * hand-back and the READY it follows happen under one hold of the pool's lock, so the retired
     * counter read after that READY shows it.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Waiting.class)
    void anIdleElasticExtraIsKeptWhileAJobWaitsOnAnotherInstance(Waiting waiting) throws Exception {
        LanguagePool pool = pool(options().min(1).max(2).idleTimeout(Duration.ofMinutes(5)).strategy(waiting.strategy).build());
        CompletableFuture<ExecutionResult> held = pool.submit("hold instance 0");
        FakeKernel.Instance first = fake.awaitReached("instance 0");
        CompletableFuture<ExecutionResult> queued = pool.submit("behind the held job", waiting.options);

        // The extra's first READY (>=: with the livelock, READY repeats).
        await().atMost(T).until(() -> events.count(PoolEvent.Type.READY) >= 2);
        PoolStats s = pool.stats();
        assertThat(s.queued()).as("the job waits on instance 0's queue").isEqualTo(1);
        assertThat(s.retired()).as("extras handed back to commons-pool2 while a job waited (a livelock)").isZero();
        assertThat(borrows()).as("commons-pool2 borrows: instance 0 and the extra").isEqualTo(2.0);

        fake.open("instance 0");
        assertThat(get(held).text()).isEqualTo("released instance 0");
        assertThat(get(queued).kernelId()).isEqualTo(first.kernelId);
        // The work done, the idle extra goes back once, kept warm.
        await().atMost(T).until(() -> pool.stats().retired() == 1);
        assertThat(events.count(PoolEvent.Type.READY)).isEqualTo(2);
        assertThat(borrows()).isEqualTo(2.0);
    }

    enum Waiting {
        ROUND_ROBIN(Dispatch.ROUND_ROBIN, ExecuteOptions.DEFAULTS),
        TARGETED(Dispatch.LEAST_BUSY, on(0));

        final Dispatch strategy;
        final ExecuteOptions options;

        Waiting(Dispatch strategy, ExecuteOptions options) {
            this.strategy = strategy;
            this.options = options;
        }
    }

    // ---- 2. interrupt before execute_input (852b4b8: pending until the job runs) ----

    /**
     * A job ends (timeout or cancel) while its kernel has the execute_request but has not begun the
     * cell, where a kernel drops an interrupt: the pool sends it once execute_input arrives, the cell
     * stops, and the same kernel serves the next job. Sent at once it is lost; the cell runs on, and
     * the kernel is killed after interruptGrace.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Ending.class)
    void aJobEndedBeforeItsCellBeganIsInterruptedOnceItBegins(Ending ending) throws Exception {
        LanguagePool pool = pool(options().size(1).build());
        ExecutionResult warm = pool.execute("warm up"); // the pool has seen execute_input: no timed fallback interrupt
        FakeKernel.Instance kernel = fake.instance(warm.kernelId());
        fake.holdBeforeCell("hold forever", "cell begins");
        CompletableFuture<ExecutionResult> job = pool.submit("hold forever", ExecuteOptions.builder()
                .timeout(ending == Ending.TIMEOUT ? Duration.ofMillis(300) : Duration.ofSeconds(20)).build());
        fake.awaitReached("cell begins");
        if (ending == Ending.CANCEL) {
            job.cancel(true);
        }
        assertThatThrownBy(() -> get(job)).satisfies(e -> {
            if (ending == Ending.TIMEOUT) {
                assertThat(e).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(PoolTimeoutException.class);
            } else {
                assertThat(e).isInstanceOf(CancellationException.class);
            }
        });

        fake.open("cell begins");
        await().atMost(T).until(() -> kernel.interruptedCells() > 0 || kernel.onExit().isDone());
        assertThat(kernel.interruptedCells()).as("the cell was interrupted (rather than killed after interruptGrace)").isEqualTo(1);
        assertThat(kernel.interruptsDelivered()).isEqualTo(1);
        ExecutionResult next = pool.execute("next");
        assertThat(next.kernelId()).as("the kernel survived").isEqualTo(kernel.kernelId);
        assertThat(next.text()).isEqualTo("next");
        assertThat(events.count(PoolEvent.Type.DEAD)).isZero();
        assertThat(pool.stats().deaths()).isZero();
    }

    enum Ending { TIMEOUT, CANCEL }

    // ---- 3. broadcast on a dying instance (efd5fb9, 4930818) ----

    /**
     * A broadcast queued behind a held job on a kernel that then dies: the replacement runs it at
     * start (it is in the pool's setup code by then), and that run answers it; queued again, it
     * would run twice on the replacement.
     */
    @Test
    void aBroadcastQueuedOnADyingKernelRunsOnceOnItsReplacement() throws Exception {
        LanguagePool pool = pool(options().size(1).build());
        CompletableFuture<ExecutionResult> held = pool.submit("hold dying");
        FakeKernel.Instance dying = fake.awaitReached("dying");
        CompletableFuture<List<ExecutionResult>> broadcast = pool.broadcastAsync("setup = 1");
        assertThat(pool.stats().queued()).as("the broadcast waits behind the held job").isEqualTo(1);

        dying.die();
        assertThatThrownBy(() -> get(held)).hasCauseInstanceOf(PoolKernelDiedException.class);
        List<ExecutionResult> results = get(broadcast);
        FakeKernel.Instance replacement = fake.awaitInstance(1);
        assertThat(results).singleElement().satisfies(r -> {
            assertThat(r.kernelId()).isEqualTo(replacement.kernelId);
            assertThat(r.text()).isEqualTo("setup = 1");
        });
        // Runs behind anything still queued on the instance: the count below is final.
        assertThat(pool.execute("after").kernelId()).isEqualTo(replacement.kernelId);
        assertThat(replacement.executions("setup = 1")).as("runs of the broadcast on the replacement").isEqualTo(1);
        assertThat(dying.executions("setup = 1")).isZero();
        assertThat(pool.stats().restarts()).isEqualTo(1);
    }

    // ---- 4. scale-down of an instance mid-restart (scaleAsync: `|| s.kernel == null`, since 58a44da) ----

    /**
     * Instance 1's kernel dies with a job queued behind it, and its replacement's start is held;
     * instance 0 is busy, so scale(1) picks instance 1. It goes at once: its queued job moves to
     * instance 0 and runs there while the replacement is still held; the replacement, when it comes,
     * joins as an idle extra and is handed back, then evicted. Kept as a retiring instance, the job
     * would wait for the replacement's start (without the queued job, the pool ends at size 1 either way).
     */
    @Test
    void scalingDownAnInstanceWhoseKernelIsRestartingRetiresItAtOnce() throws Exception {
        LanguagePool pool = pool(options().size(2).idleTimeout(Duration.ofMillis(300)).build());
        CompletableFuture<ExecutionResult> busy = pool.submit("hold instance 0", on(0));
        FakeKernel.Instance zero = fake.awaitReached("instance 0");
        CompletableFuture<ExecutionResult> dies = pool.submit("hold instance 1", on(1));
        FakeKernel.Instance one = fake.awaitReached("instance 1");
        CompletableFuture<ExecutionResult> queued = pool.submit("queued on instance 1", on(1));
        fake.holdNextStart("replacement");

        one.die();
        assertThatThrownBy(() -> get(dies)).hasCauseInstanceOf(PoolKernelDiedException.class);
        fake.awaitReached("replacement"); // instance 1 restarting, its new kernel held before it binds
        get(pool.scaleAsync(1));
        assertThat(pool.stats().instances()).as("instances right after scale(1)").hasSize(1);

        fake.open("instance 0");
        assertThat(get(busy).kernelId()).isEqualTo(zero.kernelId);
        ExecutionResult moved = get(queued, "the job queued on instance 1 ran on instance 0 while the replacement was held");
        assertThat(moved.kernelId()).isEqualTo(zero.kernelId);

        fake.open("replacement");
        FakeKernel.Instance replacement = fake.awaitInstance(2);
        await().atMost(T).until(() -> replacement.onExit().isDone()); // handed back idle, then evicted
        PoolStats s = pool.stats();
        assertThat(s.size()).isEqualTo(1);
        assertThat(s.instances()).singleElement().satisfies(i -> assertThat(i.kernelId()).isEqualTo(zero.kernelId));
        assertThat(s.ok()).isEqualTo(2);
        assertThat(s.kernelDied()).isEqualTo(1);
        assertThat(pool.execute("after").kernelId()).isEqualTo(zero.kernelId);
    }

    // ---- 5. close during a start (4930818: launched() kills; closeAsync shuts down what was launched) ----

    /**
     * The pool closes while its kernel's start is held before the kernel exists: close completes, and
     * the kernel launched afterwards is killed at once. Asked to shut down instead, it could not have
     * answered (not connected yet) and would run until shutdownGrace.
     */
    @Test
    void aKernelLaunchedAfterThePoolClosedIsKilledAtOnce() throws Exception {
        fake.holdNextStart("launch");
        CompletableFuture<LanguagePool> creating = pools.createPoolAsync("fake", "fake",
                options().size(1).shutdownGrace(Duration.ofSeconds(20)).build());
        FakeKernel.Instance late = fake.awaitReached("launch");
        LanguagePool pool = pools.pool("fake");
        get(pool.closeAsync());
        assertThatThrownBy(() -> get(creating)).hasCauseInstanceOf(PoolClosedException.class);

        fake.open("launch");
        assertThat(get(late.onExit(), "the late kernel killed at once (not after shutdownGrace, 20 s)")).isEqualTo(FakeKernel.KILLED);
        assertThat(late.endedByHost()).isTrue();
        await().atMost(T).until(() -> late.liveThreads().isEmpty());
        await().atMost(T).until(() -> pools.runtime().kernels().isEmpty());
        assertThat(events.count(PoolEvent.Type.STARTING)).as("no STARTING for a kernel of a closed pool").isZero();
    }

    /**
     * The pool closes while its kernel is launched and connecting, but has not answered kernel_info:
     * close ends it (shutdown_request, then a kill once shutdownGrace has passed) and completes.
     */
    @Test
    void aKernelNotYetReadyWhenThePoolClosesIsEndedByClose() throws Exception {
        fake.holdNextKernelInfo("ready");
        CompletableFuture<LanguagePool> creating = pools.createPoolAsync("fake", "fake",
                options().size(1).shutdownGrace(Duration.ofMillis(500)).build());
        FakeKernel.Instance starting = fake.awaitReached("ready");
        await().atMost(T).until(() -> events.count(PoolEvent.Type.STARTING) == 1);
        LanguagePool pool = pools.pool("fake");
        get(pool.closeAsync());
        assertThat(starting.onExit()).as("ended when close completed").isDone();
        assertThatThrownBy(() -> get(creating)).hasCauseInstanceOf(PoolClosedException.class);
        await().atMost(T).until(() -> starting.liveThreads().isEmpty());
        await().atMost(T).until(() -> pools.runtime().kernels().isEmpty());
        assertThat(events.count(PoolEvent.Type.READY)).isZero();
    }

    // ---- more: interrupts that are ignored or late, a death under a lease ----

    /**
     * The kernel ignores the interrupt of a timed-out job: killed after interruptGrace (the timer in
     * interrupt()), replaced, and the pool serves on.
     */
    @Test
    void aKernelIgnoringAnInterruptIsKilledAfterTheGraceAndReplaced() throws Exception {
        LanguagePool pool = pool(options().size(1).interruptGrace(Duration.ofMillis(500)).build());
        FakeKernel.Instance stubborn = fake.instance(pool.execute("warm up").kernelId());
        stubborn.ignoreInterrupts();
        CompletableFuture<ExecutionResult> job = pool.submit("hold stuck", ExecuteOptions.builder().timeout(Duration.ofMillis(200)).build());
        fake.awaitReached("stuck");
        assertThatThrownBy(() -> get(job)).hasCauseInstanceOf(PoolTimeoutException.class);

        assertThat(get(stubborn.onExit(), "the kernel ignoring the interrupt killed after interruptGrace")).isEqualTo(FakeKernel.KILLED);
        assertThat(stubborn.endedByHost()).isTrue();
        assertThat(stubborn.interruptsDelivered()).as("the interrupt reached the cell, which ignored it").isEqualTo(1);
        FakeKernel.Instance replacement = fake.awaitInstance(1);
        assertThat(pool.execute("next").kernelId()).isEqualTo(replacement.kernelId);
        await().atMost(T).until(() -> events.count(PoolEvent.Type.RESTARTED) == 1);
        assertThat(events.count(PoolEvent.Type.DEAD)).isEqualTo(1);
        assertThat(pool.stats().timeouts()).isEqualTo(1);
    }

    /**
     * Every job's timeout hangs on one scheduler task armed for the earliest deadline (JobDeadlines):
     * a job whose timeout is shorter than one already waiting must re-arm it, or it would wait for
     * the longer one. And a job that ends takes its timeout with it, so the next job is not timed out
     * by an earlier one's deadline.
     */
    @Test
    void aShorterTimeoutSubmittedLaterFiresOnTimeAndEndedJobsLeaveNone() throws Exception {
        LanguagePool pool = pool(options().size(2).build());
        pool.execute("warm up");
        CompletableFuture<ExecutionResult> slow = pool.submit("hold slow", ExecuteOptions.builder().timeout(Duration.ofSeconds(60)).build());
        fake.awaitReached("slow");
        long t0 = System.nanoTime();
        CompletableFuture<ExecutionResult> quick = pool.submit("hold quick", ExecuteOptions.builder().timeout(Duration.ofMillis(300)).build());
        assertThatThrownBy(() -> get(quick, "the 300 ms job timed out, not after the 60 s one")).hasCauseInstanceOf(PoolTimeoutException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("timed out at its own deadline").isLessThan(Duration.ofSeconds(10));
        assertThat(slow).as("the 60 s job still runs").isNotDone();
        fake.open("slow");
        assertThat(get(slow).text()).isEqualTo("released slow");

        // A short job that ends before its deadline: the next one, with a long timeout, outlives that deadline.
        assertThat(pool.submit("1", ExecuteOptions.builder().timeout(Duration.ofMillis(200)).build()).get(20, TimeUnit.SECONDS).status())
                .isEqualTo(ExecutionStatus.OK);
        CompletableFuture<ExecutionResult> after = pool.submit("hold after", ExecuteOptions.builder().timeout(Duration.ofSeconds(60)).build());
        fake.awaitReached("after");
        // Past the ended job's deadline, and still running: no deadline of an ended job fired on it.
        await().during(Duration.ofMillis(400)).atMost(T).until(() -> !after.isDone());
        fake.open("after");
        assertThat(get(after).status()).isEqualTo(ExecutionStatus.OK);
        assertThat(pool.stats().timeouts()).isEqualTo(1);
    }

    /**
     * A timed-out job's cell answers late, on its own, while the pool's interrupt for it is still on
     * its way (131c531): the next job waits until the interrupt has gone out, so it lands between
     * cells and is dropped, instead of stopping the next caller's cell.
     */
    @Test
    void aLateInterruptNeverStopsTheNextJob() throws Exception {
        LanguagePool pool = pool(options().size(1).build());
        FakeKernel.Instance kernel = fake.instance(pool.execute("warm up").kernelId());
        fake.holdNextInterrupt("delivery");
        CompletableFuture<ExecutionResult> late = pool.submit("hold late", ExecuteOptions.builder().timeout(Duration.ofMillis(300)).build());
        fake.awaitReached("late");
        assertThatThrownBy(() -> get(late)).hasCauseInstanceOf(PoolTimeoutException.class);
        fake.awaitReached("delivery"); // the pool's interrupt is on its way
        fake.open("late"); // the cell answers after its job timed out
        await().atMost(T).until(() -> pool.stats().busy() == 0);

        CompletableFuture<ExecutionResult> next = pool.submit("hold next");
        assertThat(pool.stats().queued()).as("the next job waits for the interrupt to go out").isEqualTo(1);
        fake.open("delivery");
        fake.awaitReached("next");
        fake.open("next");
        ExecutionResult r = get(next);
        assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
        assertThat(r.text()).isEqualTo("released next");
        assertThat(r.kernelId()).isEqualTo(kernel.kernelId);
        assertThat(kernel.interruptsDelivered()).as("interrupts that reached a running cell").isZero();
        assertThat(events.count(PoolEvent.Type.DEAD)).isZero();
    }

    /**
     * A leased kernel dies with work queued on the lease (kernelDiedLocked): all of it fails, the lease
     * is broken, the pool restarts and serves on.
     */
    @Test
    void aLeasedKernelDyingFailsTheLeasesQueuedWorkAndThePoolServesOn() throws Exception {
        LanguagePool pool = pool(options().size(1).build());
        KernelLease lease = pool.lease(T);
        CompletableFuture<ExecutionResult> running = lease.submit("hold leased");
        FakeKernel.Instance leased = fake.awaitReached("leased");
        CompletableFuture<ExecutionResult> queuedOnLease = lease.submit("queued on the lease");
        CompletableFuture<ExecutionResult> poolJob = pool.submit("waits for the instance");
        assertThat(pool.stats().queued()).isEqualTo(2);

        leased.die();
        assertThatThrownBy(() -> get(running)).hasCauseInstanceOf(PoolKernelDiedException.class);
        assertThatThrownBy(() -> get(queuedOnLease, "the job queued on the lease failed with its kernel"))
                .hasCauseInstanceOf(PoolKernelDiedException.class)
                .hasMessageContaining("leased kernel died");
        FakeKernel.Instance replacement = fake.awaitInstance(1);
        assertThat(get(poolJob).kernelId()).isEqualTo(replacement.kernelId);
        assertThatThrownBy(() -> get(lease.submit("after the death"))).hasCauseInstanceOf(PoolKernelDiedException.class);
        lease.close();
        assertThat(leased.executions("queued on the lease")).isZero();
        assertThat(fake.executions("after the death")).isZero();
        try (KernelLease again = pool.lease(T)) {
            assertThat(again.kernelId()).isEqualTo(replacement.kernelId);
            assertThat(again.execute("x").text()).isEqualTo("x");
        }
    }

    // ---- options() read while the pool scales (found in review of the engine split) ----

    /** A fixed pool's bounds move together: options() never sees min from one scale and max from another. */
    @Test
    void optionsReadsBothBoundsOfOneScale() throws Exception {
        LanguagePool py = pool(options().min(1).max(1).build());
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<String> torn = new java.util.concurrent.atomic.AtomicReference<>();
        Thread reader = new Thread(() -> {
            while (!done.get()) {
                try {
                    PoolOptions o = py.options();
                    if (o.min() != o.max()) {
                        torn.compareAndSet(null, "min " + o.min() + ", max " + o.max());
                    }
                } catch (RuntimeException e) {
                    torn.compareAndSet(null, e.toString());
                }
            }
        }, "options-reader");
        reader.start();
        try {
            for (int i = 0; i < 2_000 && torn.get() == null; i++) {
                py.scaleAsync(1 + i % 2);
            }
        } finally {
            done.set(true);
            reader.join(T.toMillis());
        }
        assertThat(torn.get()).as("a torn read of the bounds").isNull();
    }

    /** A kernel served in this JVM shares its memory: a memory limit cannot hold for it, so the pool refuses to start, saying why. */
    @Test
    void aMemoryLimitIsRefusedForKernelsServedInThisJvm() {
        assertThatThrownBy(() -> pool(options().size(1).memoryLimit(256L << 20).maxStartAttempts(1).build()))
                .isInstanceOf(PoolFailedException.class)
                .hasMessageContaining("memoryLimit is for kernels carpo runs as processes")
                .hasMessageContaining("provisioner '" + FakeKernel.PROVISIONER + "'");
        assertThat(fake.instances()).as("nothing served").isEmpty();
        assertThat(pools.pools()).as("a refused createPool leaves no pool behind").doesNotContainKey("fake");
    }

    // ---- recycling races (Recycling: successor and hand-over) ----

    /**
     * A kernel that has run its maxExecutions takes no job while its successor starts; if it dies
     * then, the successor that was to take over later becomes its restart, and the waiting job runs on it.
     */
    @Test
    void aDueKernelThatDiesWhileItsSuccessorStartsIsReplacedByThatSuccessor() throws Exception {
        LanguagePool pool = pool(options().size(1).maxExecutions(1).build());
        fake.holdNextStart("successor");
        ExecutionResult first = pool.execute("first");
        FakeKernel.Instance old = fake.instance(first.kernelId());
        FakeKernel.Instance successor = fake.awaitReached("successor");
        CompletableFuture<ExecutionResult> waiting = pool.submit("second");
        assertThat(pool.stats().queued()).as("the exhausted kernel takes no second job").isEqualTo(1);
        assertThat(pool.stats().size()).as("while its successor starts, the old kernel still counts").isEqualTo(1);

        old.die();
        await().atMost(T).until(() -> pool.stats().reason(PoolEvent.Reason.CRASH) == 1);
        fake.open("successor");
        ExecutionResult second = get(waiting);
        assertThat(second.kernelId()).isEqualTo(successor.kernelId);
        assertThat(pool.stats().restarts()).isEqualTo(1);
        // By kernel, not by count: the successor has now run its one job too, so it may already be recycled in turn.
        await().atMost(T).until(() -> events.events.stream().anyMatch(e -> e.type() == PoolEvent.Type.RESTARTED));
        assertThat(events.events).filteredOn(e -> e.type() == PoolEvent.Type.RESTARTED).first()
                .as("the successor became the restart: no other kernel started for it").extracting(PoolEvent::kernelId)
                .isEqualTo(successor.kernelId);
        assertThat(events.events).filteredOn(e -> old.kernelId.equals(e.kernelId()))
                .as("it died before it was retired").noneMatch(e -> e.type() == PoolEvent.Type.RETIRED)
                .anyMatch(e -> e.type() == PoolEvent.Type.DEAD && e.reason() == PoolEvent.Reason.CRASH);
    }

    /** A successor ready while the due kernel runs a job waits for the job to end, then takes over. */
    @Test
    void aSuccessorNeverCutsTheJobOfTheKernelItReplaces() throws Exception {
        LanguagePool pool = pool(options().size(1).maxLifetime(Duration.ofMillis(300)).build());
        String firstKernel = pool.execute("warm up").kernelId();
        CompletableFuture<ExecutionResult> running = pool.submit("hold long job");
        FakeKernel.Instance old = fake.awaitReached("long job");
        FakeKernel.Instance successor = fake.awaitInstance(1); // started when the lifetime passed
        await().atMost(T).until(() -> pool.stats().instances().get(0).state() == InstanceState.BUSY
                && pool.stats().starting() == 0);
        assertThat(running).as("the job is not cut").isNotDone();
        assertThat(pool.stats().reason(PoolEvent.Reason.LIFETIME)).isZero();

        fake.open("long job");
        ExecutionResult r = get(running);
        assertThat(r.kernelId()).isEqualTo(firstKernel).isEqualTo(old.kernelId);
        // At least 1: the successor's own 300 ms lifetime may pass too on a loaded machine, and it is recycled in turn.
        await().atMost(T).until(() -> pool.stats().reason(PoolEvent.Reason.LIFETIME) >= 1);
        assertThat(get(old.onExit(), "the old kernel ended")).isNotNull();
        assertThat(pool.execute("next").kernelId()).as("the old kernel takes no job after its job").isNotEqualTo(old.kernelId);
        await().atMost(T).until(() -> events.events.stream().anyMatch(e -> e.type() == PoolEvent.Type.READY
                && successor.kernelId.equals(e.kernelId()) && e.detail().contains("took over")));
        assertThat(pool.stats().restarts()).isZero();
        assertThat(pool.stats().deaths()).isZero();
    }

    /** A ready successor waiting for a busy kernel takes over at once, as its restart, if that kernel dies. */
    @Test
    void aReadySuccessorTakesOverAtOnceWhenTheKernelItWaitsForDies() throws Exception {
        LanguagePool pool = pool(options().size(1).maxLifetime(Duration.ofMillis(300)).build());
        pool.execute("warm up");
        CompletableFuture<ExecutionResult> running = pool.submit("hold doomed job");
        FakeKernel.Instance old = fake.awaitReached("doomed job");
        FakeKernel.Instance successor = fake.awaitInstance(1);
        await().atMost(T).until(() -> pool.stats().starting() == 0); // ready, waiting beside the busy kernel

        old.die();
        assertThatThrownBy(() -> get(running)).hasCauseInstanceOf(PoolKernelDiedException.class);
        assertThat(pool.execute("after").kernelId()).isNotEqualTo(old.kernelId);
        assertThat(pool.stats().restarts()).isEqualTo(1);
        // By kernel, not by count: the successor's own 300 ms lifetime may pass on a loaded machine, and it is recycled in turn.
        await().atMost(T).until(() -> events.events.stream().anyMatch(e -> e.type() == PoolEvent.Type.RESTARTED));
        assertThat(events.events).filteredOn(e -> e.type() == PoolEvent.Type.RESTARTED).first()
                .as("the successor was the replacement: no third start for it").extracting(PoolEvent::kernelId)
                .isEqualTo(successor.kernelId);
        assertThat(events.events).filteredOn(e -> old.kernelId.equals(e.kernelId()))
                .as("it died; it was not retired for its lifetime").noneMatch(e -> e.type() == PoolEvent.Type.RETIRED)
                .anyMatch(e -> e.type() == PoolEvent.Type.DEAD && e.reason() == PoolEvent.Reason.CRASH);
    }

    // ---- recycling and fresh-lease races a review found (each doc says what went wrong before the fix) ----

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

package dev.carpo.pool.engine;

import dev.carpo.pool.Dispatch;
import dev.carpo.pool.ExecuteOptions;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelLease;
import dev.carpo.pool.PoolClosedException;
import dev.carpo.pool.PoolException;
import dev.carpo.pool.PoolFailedException;
import dev.carpo.pool.PoolKernelDiedException;
import dev.carpo.pool.PoolListener;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.PoolRejectedException;
import dev.carpo.pool.PoolState;
import dev.carpo.pool.PoolStats;
import dev.carpo.pool.PoolTimeoutException;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelDiedException;
import dev.carpo.pool.kernel.KernelRuntime;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.metrics.PoolMeters;
import dev.carpo.pool.metrics.ProcessUsage;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The engine under one {@code LanguagePool}: its state, and the entry points its front calls.
 * The policies are beside it, one file each: {@link Dispatcher} (placement, the pump, how jobs
 * end), {@link KernelSupply} (starts, replacement, retirement, commons-pool2), {@link StartCircuit},
 * {@link Interrupts}, {@link SetupCode} (init code and broadcasts), {@link PoolCounters},
 * {@link PoolEvents}.
 *
 * <h2>The rule</h2>
 * One lock guards all of a pool's state: its instances, queues, requests, bounds, counters. Every
 * change goes through {@link #locked}: it decides everything under the lock and collects what must
 * happen outside it into {@link Effects}, which run once the lock is released. Nothing that can
 * block or call out (a kernel, a borrow, return or invalidation in commons-pool2, a caller's future
 * or callback, a listener) runs under the lock, so no callback can re-enter it or stall it; only
 * commons-pool2's cheap bound setters and idle count, which take no lock of ours, are called under it. Methods that must be called under the lock
 * say so and assert it ({@link #held()}).
 */
public final class PoolEngine implements PoolMeters.Source {
    final String language;
    final KernelSpec spec;
    final PoolOptions options;
    final PoolFront front;
    final ScheduledExecutorService scheduler;
    final Executor completer;
    /** Where the stages of callers' job futures run: the completer, or the caller's thread once it is shut down. */
    final Executor stages;
    final JobDeadlines deadlines;
    final PoolEvents events;
    final PoolMeters meters;
    final Dispatcher dispatcher;
    final KernelSupply supply;
    final Interrupts interrupts;
    final SetupCode setup;
    final StartCircuit circuit;
    final Recycling recycling;
    final LeaseLeaks leaks;
    private final MemoryFit memoryFit;

    final Object lock = new Object();
    // Everything below is guarded by lock.
    final List<Instance> instances = new ArrayList<>();
    final ArrayDeque<Job> queue = new ArrayDeque<>();
    final ArrayDeque<LeaseRequest> leaseRequests = new ArrayDeque<>();
    final List<ScaleRequest> scaleRequests = new ArrayList<>();
    final PoolCounters counters = new PoolCounters();
    int min;
    int max;
    /** Jobs accepted and not yet sent to a kernel, wherever they wait. */
    int queued;
    PoolState state = PoolState.STARTING;
    /** Why starts fail, while the circuit is open. */
    Throwable failure;
    private CompletableFuture<Void> closing;

    /**
     * @param front the public pool this engine serves
     * @param sharedListeners the listeners of the {@code KernelPools} that owns the pool
     * @param registry where the pool's meters go, or null for none
     */
    public PoolEngine(PoolFront front, String language, KernelSpec spec, PoolOptions options, KernelRuntime runtime,
                      Path runtimeDir, Executor starter, Executor completer, ScheduledExecutorService scheduler,
                      Executor events, List<PoolListener> sharedListeners, Runnable onClosed, MeterRegistry registry) {
        this.front = front;
        this.language = language;
        this.spec = spec;
        this.options = options;
        this.scheduler = scheduler;
        this.completer = completer;
        this.stages = Effects.orInline(completer);
        this.deadlines = new JobDeadlines(this, scheduler);
        this.min = options.min();
        this.max = options.max();
        this.events = new PoolEvents(language, events, sharedListeners);
        this.circuit = new StartCircuit(options.restartBackoff(), options.maxStartAttempts());
        this.setup = new SetupCode(this);
        this.interrupts = new Interrupts(this);
        this.dispatcher = new Dispatcher(this);
        this.recycling = new Recycling(this);
        this.leaks = new LeaseLeaks(this);
        this.supply = new KernelSupply(this, runtime, runtimeDir, starter, onClosed);
        this.meters = registry == null ? PoolMeters.NONE : new PoolMeters(registry, meterTags(), this, supply.objectPool());
        this.memoryFit = new MemoryFit(language, options);
        memoryFit.warnIfTooLarge(max);
    }

    private io.micrometer.core.instrument.Tags meterTags() {
        return io.micrometer.core.instrument.Tags.of("language", spec.language().isEmpty() ? language : spec.language(),
                "pool", language, "location", location());
    }

    /** Runs {@code body} under the lock, then the effects it collected (also when it throws). */
    void locked(Consumer<Effects> body) {
        Effects effects = new Effects(completer);
        try {
            synchronized (lock) {
                body.accept(effects);
            }
        } finally {
            effects.run();
        }
    }

    /** As {@link #locked(Consumer)}, returning what {@code body} returns. */
    <T> T lockedGet(Function<Effects, T> body) {
        Effects effects = new Effects(completer);
        try {
            synchronized (lock) {
                return body.apply(effects);
            }
        } finally {
            effects.run();
        }
    }

    /** The caller holds the lock: for {@code assert held();} in methods that need it. */
    boolean held() {
        return Thread.holdsLock(lock);
    }

    /** Starts the first {@code min} kernels; completes when they are ready or the circuit opens. */
    public CompletableFuture<Void> start() {
        return lockedGet(effects -> {
            if (min == 0) {
                state = PoolState.RUNNING;
            }
            ScaleRequest request = new ScaleRequest();
            scaleRequests.add(request);
            dispatcher.pump(effects);
            return request.future;
        });
    }

    public String location() {
        return options.gateway() == null ? "local" : options.gateway().location();
    }

    /** {@code f} of the bounds (min, max) as they are now, read together. */
    public <T> T bounds(java.util.function.BiFunction<Integer, Integer, T> f) {
        synchronized (lock) {
            return f.apply(min, max);
        }
    }

    public PoolState state() {
        synchronized (lock) {
            return state;
        }
    }

    public void addListener(PoolListener listener) {
        events.add(listener);
    }

    public void removeListener(PoolListener listener) {
        events.remove(listener);
    }

    public Duration timeoutOf(ExecuteOptions o) {
        return o.timeout() != null ? o.timeout() : options.defaultTimeout();
    }

    // ---- jobs ----

    /** Queues code, on {@code lease} if not null, else placed by {@code o.instance()} or the strategy. */
    public CompletableFuture<ExecutionResult> submit(String code, ExecuteOptions o, Lease lease) {
        long bound = o.maxOutputBytes() != null ? o.maxOutputBytes() : options.maxOutputBytes();
        Job job = new Job(code, timeoutOf(o), o.listener(), o.input(), lease, -1, bound, this);
        Integer instance = lease == null ? o.instance() : null;
        return lockedGet(effects -> {
            if (instance != null && instance >= instances.size()) {
                throw new IllegalArgumentException("pool '" + language + "' has " + instances.size() + " instance(s) (0.."
                        + (instances.size() - 1) + "); instance " + instance + " is out of range");
            }
            PoolException refusal = refusal(-1);
            if (refusal == null && lease != null && (lease.released() || lease.instance().lease() != lease)) {
                refusal = lease.broken() != null ? leaseBroken(lease)
                        : new PoolClosedException(language, lease.index(), "the lease was released", null);
            }
            if (refusal == null && queued >= options.maxQueued()) {
                refusal = new PoolRejectedException(language, -1, "queue is full (" + queued + " jobs waiting, maxQueued "
                        + options.maxQueued() + ")", null);
            }
            if (refusal != null) {
                counters.rejected++;
                job.end();
                PoolException e = refusal;
                // Refused at once, in the caller's thread: the future is new, so no callback runs here.
                effects.then(() -> job.future.completeExceptionally(e));
            } else {
                // The timer first: if scheduling throws, nothing is queued yet. It cannot fire before the job
                // is placed, as timedOut takes the lock held here.
                deadlines.add(job);
                counters.submitted++;
                queued++;
                dispatcher.place(job, instance);
                dispatcher.pump(effects);
            }
            return job.future;
        });
    }

    /**
     * As {@link #submit} on a lease, which must not have been released.
     *
     * @throws IllegalStateException when it has been
     */
    public CompletableFuture<ExecutionResult> submitLeased(Lease lease, String code, ExecuteOptions o) {
        synchronized (lock) {
            if (lease.released()) {
                throw new IllegalStateException("lease on pool '" + language + "' instance " + lease.index() + " was released");
            }
            if (lease.broken() != null) {
                return CompletableFuture.failedFuture(leaseBroken(lease));
            }
        }
        return submit(code, o, lease);
    }

    PoolKernelDiedException leaseBroken(Lease lease) {
        return leaseBroken(lease.index(), lease.broken());
    }

    /** A job on a lease whose kernel died: it cannot run, as the state it was meant for is gone. */
    PoolKernelDiedException leaseBroken(int instance, KernelDiedException cause) {
        return new PoolKernelDiedException(language, instance, "the leased kernel died, and its state with it: " + cause.getMessage(), cause);
    }

    /** Why a new job or lease cannot be taken now, or null. Under the lock. */
    PoolException refusal(int instance) {
        assert held();
        if (state == PoolState.CLOSED) {
            return new PoolClosedException(language, instance, "pool is shut down", null);
        }
        if (state == PoolState.FAILED) {
            return circuitOpen(instance);
        }
        return null;
    }

    PoolFailedException circuitOpen(int instance) {
        return new PoolFailedException(language, instance, "cannot start kernels: " + messageOf(failure), failure);
    }

    /** Runs code on every instance and remembers it for every later kernel; see {@code LanguagePool.broadcastAsync}. */
    public CompletableFuture<List<ExecutionResult>> broadcast(String code) {
        List<CompletableFuture<ExecutionResult>> results = new ArrayList<>();
        PoolException refusal = lockedGet(effects -> {
            PoolException refused = refusal(-1);
            if (refused != null) {
                return refused;
            }
            int index = setup.add(code);
            for (Instance s : instances) {
                if (s.hasKernel() && !s.retiring()) {
                    Job job = setup.job(index);
                    job.instance = s;
                    s.queue.add(job);
                    s.kernel().setupApplied(s.kernel().setupApplied() + 1);
                    results.add(job.future);
                }
            }
            dispatcher.pump(effects);
            return null;
        });
        if (refusal != null) {
            return CompletableFuture.failedFuture(refusal);
        }
        // An instance retired before it ran the broadcast has no result (null): it is left out.
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .thenApply(v -> results.stream().map(CompletableFuture::join).filter(Objects::nonNull).toList());
    }

    // ---- leases ----

    /** A lease on the first instance free within {@code timeout} (positive, clamped). */
    public CompletableFuture<KernelLease> lease(Duration timeout) {
        LeaseRequest request = new LeaseRequest(leaks.origin());
        PoolException refusal = lockedGet(effects -> {
            PoolException refused = refusal(-1);
            if (refused != null) {
                return refused;
            }
            leaseRequests.add(request);
            request.timer = scheduler.schedule(() -> leaseTimedOut(request, timeout), timeout.toNanos(), TimeUnit.NANOSECONDS);
            dispatcher.pump(effects);
            return null;
        });
        return refusal != null ? CompletableFuture.failedFuture(refusal) : request.future;
    }

    private void leaseTimedOut(LeaseRequest request, Duration timeout) {
        locked(effects -> {
            if (leaseRequests.remove(request)) {
                counters.timeouts++;
                effects.fail(request.future, new PoolTimeoutException(language, -1,
                        "no instance was free for a lease within " + timeout.toMillis() + " ms", null));
            }
        });
    }

    /** Gives a lease's instance back; jobs already submitted on it still run first. */
    public void release(Lease lease) {
        locked(effects -> {
            if (!lease.released()) {
                lease.markReleased();
                leaks.released(lease, effects);
            }
            dispatcher.pump(effects);
        });
    }

    // ---- scaling ----

    /** Scales to {@code n} (checked by the front) ready instances; completes when they are ready. */
    public CompletableFuture<Void> scale(int n) {
        memoryFit.warnIfTooLarge(n);
        ScaleRequest request = new ScaleRequest();
        PoolException refusal = lockedGet(effects -> {
            if (state == PoolState.CLOSED) {
                return new PoolClosedException(language, -1, "pool is shut down", null);
            }
            boolean fixed = min == max;
            min = n;
            if (fixed || n > max) {
                max = n;
            }
            int active = activeCount();
            if (active > n) {
                // Idle instances go first, then the last ones.
                List<Instance> candidates = instances.stream().filter(s -> !s.retiring())
                        .sorted(Comparator.comparing((Instance s) -> !(s.usable() && s.idle()))
                                .thenComparing(s -> -instances.indexOf(s)))
                        .limit(active - n).toList();
                for (Instance s : candidates) {
                    if (s.usable() && s.idle() || !s.hasKernel()) {
                        supply.retire(s, effects, dev.carpo.pool.PoolEvent.Reason.SCALE, "to " + n);
                    } else {
                        s.retire();
                    }
                }
            } else {
                for (Instance s : instances) {
                    if (active < n && s.retiring()) {
                        s.keep();
                        active++;
                    }
                }
            }
            supply.updateBounds();
            scaleRequests.add(request);
            dispatcher.pump(effects);
            return null;
        });
        return refusal != null ? CompletableFuture.failedFuture(refusal) : request.future;
    }

    /** How long a blocking scale to {@code n} may wait: the starts, in rounds, and one backoff. */
    public Duration blockingScaleWait(int n) {
        return options.maxStartWait(n).plus(StartCircuit.maxBackoff());
    }

    /** Instances that are not retiring (including those restarting). Under the lock. */
    int activeCount() {
        assert held();
        int n = 0;
        for (Instance s : instances) {
            if (!s.retiring()) {
                n++;
            }
        }
        return n;
    }

    /** Instances that are not retiring and have a live kernel. Under the lock. */
    int readyCount() {
        assert held();
        int n = 0;
        for (Instance s : instances) {
            if (!s.retiring() && s.usable()) {
                n++;
            }
        }
        return n;
    }

    // ---- stats ----

    /** A snapshot; with {@code usage}, each instance's memory and CPU read from /proc (outside the lock). */
    public PoolStats stats(boolean usage) {
        PoolCounters counted;
        PoolCounters.Sizes sizes;
        List<PoolStats.Instance> rows = new ArrayList<>();
        PoolState now;
        String why;
        synchronized (lock) {
            int idleHeld = 0;
            int busy = 0;
            int leased = 0;
            int live = 0;
            int starting = supply.startingNew();
            for (int i = 0; i < instances.size(); i++) {
                Instance s = instances.get(i);
                if (s.hasKernel()) {
                    live++;
                }
                if (s.lease() != null) {
                    leased++;
                } else if (s.running() != null) {
                    busy++;
                } else if (s.hasKernel()) {
                    idleHeld++;
                }
                if (s.replacing()) {
                    starting++;
                }
                Kernel k = s.hasKernel() ? s.kernel().kernel() : null;
                rows.add(new PoolStats.Instance(i, k != null ? k.id() : null, k != null ? k.pid() : -1,
                        s.state(), s.queuedHere(), s.executions(), -1, -1));
            }
            int warm = state == PoolState.CLOSED ? 0 : supply.objectPool().getNumIdle();
            sizes = new PoolCounters.Sizes(live + warm, idleHeld + warm, busy, leased, starting, queued, min, max);
            counted = counters.copy();
            now = state;
            why = state == PoolState.FAILED ? messageOf(failure) : null;
        }
        if (usage) {
            rows.replaceAll(i -> {
                ProcessUsage u = ProcessUsage.read(i.pid());
                return new PoolStats.Instance(i.index(), i.kernelId(), i.pid(), i.state(), i.queued(), i.executions(),
                        u.residentBytes(), u.cpuSeconds());
            });
        }
        return counted.stats(language, now, options.strategy(), sizes, why, rows);
    }

    /** The snapshot without /proc reads (usage -1), cheap enough for every gauge of a scrape. */
    @Override
    public PoolStats snapshot() {
        return stats(false);
    }

    @Override
    public ProcessUsage usage(int instance) {
        long pid;
        synchronized (lock) {
            pid = instance < instances.size() && instances.get(instance).hasKernel()
                    ? instances.get(instance).kernel().kernel().pid() : -1;
        }
        return ProcessUsage.read(pid);
    }

    @Override
    public long rejectedMessages() {
        return supply.rejectedMessages();
    }

    // ---- close ----

    /** Shuts every kernel down in parallel and fails all unfinished work; idempotent. */
    public CompletableFuture<Void> close() {
        List<PooledKernel> held = new ArrayList<>();
        CompletableFuture<Void> done = lockedGet(effects -> {
            if (closing != null) {
                return null;
            }
            closing = new CompletableFuture<>();
            state = PoolState.CLOSED;
            PoolException closed = new PoolClosedException(language, -1, "pool was shut down", null);
            List<Job> unfinished = new ArrayList<>(queue);
            queue.clear();
            for (int i = 0; i < instances.size(); i++) {
                Instance s = instances.get(i);
                unfinished.addAll(s.queue);
                unfinished.addAll(s.leaseQueue);
                if (s.running() != null) {
                    unfinished.add(s.running());
                }
                if (s.lease() != null) {
                    s.lease().markReleased();
                    cancelTimer(s.lease().leakTimer);
                }
                if (s.hasKernel()) {
                    held.add(s.kernel());
                    events.emit(dev.carpo.pool.PoolEvent.Type.RETIRED, i, s.kernel().kernel(), Duration.ZERO, "",
                            dev.carpo.pool.PoolEvent.Reason.CLOSED);
                    counters.ended(dev.carpo.pool.PoolEvent.Reason.CLOSED);
                }
                if (s.successor() != null) {
                    held.add(s.successor());
                }
            }
            instances.clear();
            queued = 0;
            unfinished.forEach(job -> job.fail(closed, effects));
            deadlines.close();
            failRequests(() -> closed, effects);
            return closing;
        });
        if (done == null) {
            synchronized (lock) {
                return closing;
            }
        }
        meters.close();
        supply.close(held, done);
        return done;
    }

    /** Every waiting lease and scale request fails, each with its own exception from {@code failure}. Under the lock. */
    void failRequests(java.util.function.Supplier<PoolException> failure, Effects effects) {
        assert held();
        for (LeaseRequest r : leaseRequests) {
            cancelTimer(r.timer);
            effects.fail(r.future, failure.get());
        }
        leaseRequests.clear();
        for (ScaleRequest r : scaleRequests) {
            effects.fail(r.future, failure.get());
        }
        scaleRequests.clear();
    }

    static void cancelTimer(Future<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    /** The cause inside a future's wrapping exceptions. */
    public static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    static String messageOf(Throwable e) {
        return e == null ? "unknown" : e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /** A caller waiting for an instance to lease. */
    static final class LeaseRequest {
        final CompletableFuture<KernelLease> future = new CompletableFuture<>();
        /** Where it was asked for (leak detection), or null. */
        final Throwable origin;
        Future<?> timer;

        LeaseRequest(Throwable origin) {
            this.origin = origin;
        }
    }

    /** A caller waiting for the pool to reach its size. */
    static final class ScaleRequest {
        final CompletableFuture<Void> future = new CompletableFuture<>();
    }
}

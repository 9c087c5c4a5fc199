package dev.carpo.pool;

import dev.carpo.pool.kernel.ExecuteRequest;
import dev.carpo.pool.kernel.InputChecks;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelDiedException;
import dev.carpo.pool.kernel.KernelMemoryLimitException;
import dev.carpo.pool.kernel.KernelExecution;
import dev.carpo.pool.kernel.KernelOptions;
import dev.carpo.pool.kernel.OutputLimitException;
import dev.carpo.pool.kernel.KernelRuntime;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.kernel.KernelStartException;
import dev.carpo.pool.pool.Backoff;
import dev.carpo.pool.pool.KernelFactory;
import dev.carpo.pool.pool.PooledKernel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pool of live kernels for one language, taking jobs in parallel. Created by
 * {@link KernelPools#createPool}; thread-safe.
 *
 * <p>Example:
 * <pre>{@code
 * LanguagePool py = pools.createPool("python", "python3",
 *         PoolOptions.builder().min(2).max(4).strategy(Dispatch.LEAST_BUSY).build());
 * CompletableFuture<ExecutionResult> f = py.submit("21 * 2");
 * ExecutionResult r = py.execute("21 * 2");                    // blocking, the pool's default timeout
 * py.submit("x", ExecuteOptions.builder().instance(1).timeout(Duration.ofSeconds(5)).build());
 * py.scale(5);                                                 // returns with 5 ready instances
 * try (KernelLease k = py.lease()) { k.execute("x = 1"); k.execute("x + 1"); }
 * py.broadcast("import math");                                 // every instance, and every future one
 * PoolStats s = py.stats();
 * }</pre>
 *
 * <p>Instances are numbered from 0 in the order the pool holds them. In a fixed pool the numbers
 * are stable; when an elastic pool or {@link #scale} retires an instance, those after it move down.
 * Jobs run one at a time per instance, with {@code stop_on_error} false, so one job's error never
 * touches another's. How the dispatcher and commons-pool2 share the kernels is explained in
 * {@code dev.carpo.pool.pool}.
 */
public final class LanguagePool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LanguagePool.class);
    private static final Duration BACKOFF_MAX = Duration.ofSeconds(30);
    /** A kernel that dies this soon after joining the pool counts as a failed start (restart limit, backoff). */
    private static final Duration EARLY_DEATH = Duration.ofSeconds(10);
    /** How long an interrupt waits for a kernel that never reports execute_input to begin the job. */
    private static final Duration INTERRUPT_FALLBACK = Duration.ofSeconds(1);

    private final String language;
    private final KernelSpec spec;
    private final PoolOptions options;
    private final ScheduledExecutorService scheduler;
    private final Executor starter;
    private final Executor events;
    private final Executor completer;
    private final List<PoolListener> sharedListeners;
    private final List<PoolListener> listeners = new CopyOnWriteArrayList<>();
    private final Runnable onClosed;
    private final Backoff backoff;
    private final GenericObjectPool<PooledKernel> kernels;
    private final Set<Kernel> launched = ConcurrentHashMap.newKeySet();
    private final boolean valuesAsDisplayData;
    private final PoolMeters meters;
    private final java.util.concurrent.atomic.AtomicLong goneRejected = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicBoolean sizeWarned = new java.util.concurrent.atomic.AtomicBoolean();

    private final Object lock = new Object();
    // Everything below is guarded by lock.
    private final List<Slot> slots = new ArrayList<>();
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private final ArrayDeque<LeaseRequest> leaseRequests = new ArrayDeque<>();
    private final List<String> setupCode = new ArrayList<>();
    private final List<ScaleRequest> scaleRequests = new ArrayList<>();
    private int min;
    private int max;
    private int startingNew;
    private int queued;
    private long roundRobin;
    private PoolState state = PoolState.STARTING;
    private Throwable failure;
    private int consecutiveFailures;
    private boolean retryScheduled;
    private CompletableFuture<Void> closing;
    private long submitted;
    private long ok;
    private long errors;
    private long aborted;
    /** This pool's kernels publish execute_input (one has been seen), so a deferred interrupt needs no fallback. */
    private boolean executeInputSeen;
    private long timeouts;
    private long cancelledCount;
    private long rejected;
    private long kernelDied;
    private long kernelsStarted;
    private long startFailures;
    private long restarts;
    private long deaths;
    private long retired;
    private long outputLimited;
    private long memoryLimited;

    LanguagePool(String language, KernelSpec spec, PoolOptions options, KernelRuntime runtime, Path runtimeDir,
                 Executor starter, Executor completer, ScheduledExecutorService scheduler, Executor events,
                 List<PoolListener> sharedListeners, Runnable onClosed, io.micrometer.core.instrument.MeterRegistry registry) {
        this.language = language;
        this.spec = spec;
        this.options = options;
        this.starter = starter;
        this.completer = completer;
        this.scheduler = scheduler;
        this.events = events;
        this.sharedListeners = sharedListeners;
        this.onClosed = onClosed;
        this.min = options.min();
        this.max = options.max();
        this.valuesAsDisplayData = "r".equalsIgnoreCase(spec.language());
        this.backoff = new Backoff(options.restartBackoff(),
                options.restartBackoff().compareTo(BACKOFF_MAX) > 0 ? options.restartBackoff() : BACKOFF_MAX);
        setupCode.addAll(options.init());
        KernelOptions kernelOptions = KernelOptions.builder()
                .env(options.env())
                .workingDirectory(options.workingDirectory())
                .runtimeDir(runtimeDir)
                .startupTimeout(options.startupTimeout())
                .heartbeatTimeout(options.heartbeatTimeout())
                .shutdownGrace(options.shutdownGrace())
                .gateway(options.gateway())
                .maxMessageBytes(options.maxMessageBytes())
                .memoryLimit(options.memoryLimit())
                .maxProcesses(options.maxProcesses())
                .build();
        KernelFactory factory = new KernelFactory(runtime, spec, kernelOptions, options.startupTimeout(),
                this::setupSnapshot, this::launched, this::kernelDied);
        GenericObjectPoolConfig<PooledKernel> config = new GenericObjectPoolConfig<>();
        config.setJmxEnabled(false);
        config.setMaxTotal(max);
        config.setMaxIdle(max);
        config.setMinIdle(0);
        config.setBlockWhenExhausted(true);
        config.setMaxWait(Duration.ofSeconds(2));
        config.setTestOnBorrow(true);
        config.setTestWhileIdle(true);
        config.setMinEvictableIdleDuration(options.idleTimeout());
        config.setTimeBetweenEvictionRuns(evictionInterval(options.idleTimeout()));
        config.setNumTestsPerEvictionRun(-1);
        kernels = new GenericObjectPool<>(factory, config);
        meters = registry == null ? PoolMeters.NONE : new PoolMeters(registry, this, kernels);
        warnIfTooLarge(max);
    }

    /**
     * Logs once per pool when {@code max} local kernels would not fit in physical memory, at
     * memoryLimit each or {@link PoolOptions#TYPICAL_KERNEL_BYTES}: allowed (kernels often stay
     * small, and a gateway's are elsewhere), but a pool that grows so far swaps or meets the OOM killer.
     */
    private void warnIfTooLarge(int size) {
        if (options.gateway() != null || sizeWarned.get()) {
            return;
        }
        long perKernel = options.memoryLimit() > 0 ? options.memoryLimit() : PoolOptions.TYPICAL_KERNEL_BYTES;
        long physical = physicalMemory();
        if (physical > 0 && (double) size * perKernel > physical && sizeWarned.compareAndSet(false, true)) {
            LOG.warn("pool '{}': up to {} kernels at ~{} MiB each ({}) need {} MiB, more than this machine's {} MiB of"
                            + " physical memory; the pool may swap or its kernels be OOM-killed when it grows that far",
                    language, size, perKernel >> 20, options.memoryLimit() > 0 ? "memoryLimit" : "a typical kernel",
                    (long) ((double) size * perKernel) >> 20, physical >> 20);
        }
    }

    /** MemTotal from /proc/meminfo in bytes, or -1 where there is none. */
    private static long physicalMemory() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException unavailable) {
            // Not Linux, or /proc hidden: no check.
        }
        return -1;
    }

    private static Duration evictionInterval(Duration idleTimeout) {
        Duration quarter = idleTimeout.dividedBy(4);
        if (quarter.compareTo(Duration.ofMillis(100)) < 0) {
            return Duration.ofMillis(100);
        }
        return quarter.compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30) : quarter;
    }

    /** Starts the first {@code min} kernels; completes when they are ready or the circuit opens. */
    CompletableFuture<LanguagePool> start() {
        List<Runnable> after = new ArrayList<>();
        CompletableFuture<Void> ready;
        synchronized (lock) {
            if (min == 0) {
                state = PoolState.RUNNING;
            }
            ScaleRequest request = new ScaleRequest();
            scaleRequests.add(request);
            ready = request.future;
            pump(after);
        }
        runAll(after);
        return ready.thenApply(v -> this);
    }

    /** The language key this pool was created under. */
    public String language() {
        return language;
    }

    /** Where its kernels run: {@code local}, or the gateway's {@code host:port} (the metrics' {@code location} tag). */
    public String location() {
        return options.gateway() == null ? "local" : options.gateway().location();
    }

    /** The kernelspec its kernels start from. */
    public KernelSpec spec() {
        return spec;
    }

    /** The options it was created with (bounds may since have changed through {@link #scale}). */
    public PoolOptions options() {
        synchronized (lock) {
            return options.withBounds(min, max);
        }
    }

    public PoolState state() {
        synchronized (lock) {
            return state;
        }
    }

    /** Receives this pool's lifecycle events. */
    public void addListener(PoolListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeListener(PoolListener listener) {
        listeners.remove(listener);
    }

    // ---- jobs ----

    /** Submits code, placed by the pool's strategy, with the pool's default timeout. */
    public CompletableFuture<ExecutionResult> submit(String code) {
        return submit(code, ExecuteOptions.DEFAULTS);
    }

    /**
     * Submits code. The future completes with the result (also when the code raised), or
     * exceptionally with a {@link PoolException}: timeout, kernel died, rejected, closed, failed.
     * {@code cancel(true)} removes a queued job or interrupts a running one.
     *
     * <p>A submission refused by an exception runs nothing: everything that can throw is checked
     * before the job is queued.
     *
     * @throws IllegalArgumentException when {@code options.instance()} is not an instance of this pool,
     *         or the code has an unpaired surrogate (it has no UTF-8 form; ipykernel crashes on one)
     */
    public CompletableFuture<ExecutionResult> submit(String code, ExecuteOptions options) {
        Objects.requireNonNull(code, "code");
        InputChecks.checkCode(code, "code");
        ExecuteOptions o = options == null ? ExecuteOptions.DEFAULTS : options;
        Job job = new Job(code, timeoutOf(o), o.listener(), o.input(), null, false);
        job.maxOutputBytes = o.maxOutputBytes();
        return enqueue(job, o.instance());
    }

    /** Runs code and waits for it, with the pool's default timeout. */
    public ExecutionResult execute(String code) {
        return execute(code, ExecuteOptions.DEFAULTS);
    }

    /**
     * Runs code and waits for it.
     *
     * @throws PoolException when the job fails outside the kernel (timeout, kernel died, …)
     */
    public ExecutionResult execute(String code, ExecuteOptions options) {
        ExecuteOptions o = options == null ? ExecuteOptions.DEFAULTS : options;
        return Await.result(submit(code, o), timeoutOf(o).plusSeconds(5), language, "execution");
    }

    Duration timeoutOf(ExecuteOptions o) {
        return o.timeout() != null ? o.timeout() : options.defaultTimeout();
    }

    private CompletableFuture<ExecutionResult> enqueue(Job job, Integer instance) {
        job.future.attach(this);
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            if (instance != null && instance >= slots.size()) {
                throw new IllegalArgumentException("pool '" + language + "' has " + slots.size() + " instance(s) (0.."
                        + (slots.size() - 1) + "); instance " + instance + " is out of range");
            }
            PoolException refusal = refusal(-1);
            if (refusal == null && job.lease != null && (job.lease.released() || job.lease.slot().lease != job.lease)) {
                refusal = job.lease.broken() != null
                        ? new PoolKernelDiedException(language, job.lease.instance(),
                                "the leased kernel died, and its state with it: " + job.lease.broken().getMessage(), job.lease.broken())
                        : new PoolClosedException(language, job.lease.instance(), "the lease was released", null);
            }
            if (refusal == null && queued >= options.maxQueued()) {
                refusal = new PoolRejectedException(language, -1, "queue is full (" + queued + " jobs waiting, maxQueued "
                        + options.maxQueued() + ")", null);
            }
            if (refusal != null) {
                rejected++;
                job.finished = true;
                PoolException e = refusal;
                // Refused at once, in the caller's thread: the future is new, so no callback runs here.
                after.add(() -> job.future.completeExceptionally(e));
            } else {
                // The timer first: if scheduling throws, nothing is queued yet. It cannot fire before the job
                // is placed, as timedOut takes the lock held here.
                job.timer = scheduler.schedule(() -> timedOut(job), job.timeout.toNanos(), TimeUnit.NANOSECONDS);
                submitted++;
                queued++;
                place(job, instance);
                pump(after);
            }
        }
        runAll(after);
        return job.future;
    }

    /** Why a new job or lease cannot be taken now, or null. */
    private PoolException refusal(int instance) {
        if (state == PoolState.CLOSED) {
            return new PoolClosedException(language, instance, "pool is shut down", null);
        }
        if (state == PoolState.FAILED) {
            return new PoolFailedException(language, instance, "cannot start kernels: " + messageOf(failure), failure);
        }
        return null;
    }

    private void place(Job job, Integer instance) {
        if (job.lease != null) {
            job.slot = job.lease.slot();
            job.slot.leaseQueue.add(job);
        } else if (instance != null) {
            job.slot = slots.get(instance);
            job.slot.queue.add(job);
        } else if (options.strategy() == Dispatch.ROUND_ROBIN) {
            List<Slot> active = slots.stream().filter(s -> !s.retiring).toList();
            if (active.isEmpty()) {
                queue.add(job);
            } else {
                job.slot = active.get((int) (roundRobin++ % active.size()));
                job.slot.queue.add(job);
            }
        } else {
            queue.add(job);
        }
    }

    // ---- broadcast ----

    /**
     * Runs code on every instance and remembers it: every kernel started later runs it too, after
     * the init code. Returns each instance's result, in instance order; an instance retired before
     * it got to the broadcast is left out, and one whose kernel died first answers with its
     * replacement's run of it at start.
     */
    public List<ExecutionResult> broadcast(String code) {
        return Await.result(broadcastAsync(code), options.defaultTimeout().plusSeconds(5), language, "broadcast");
    }

    /** As {@link #broadcast}, without waiting. Instances under a lease run it once the lease ends. */
    public CompletableFuture<List<ExecutionResult>> broadcastAsync(String code) {
        Objects.requireNonNull(code, "code");
        InputChecks.checkCode(code, "broadcast code");
        List<Runnable> after = new ArrayList<>();
        List<CompletableFuture<ExecutionResult>> results = new ArrayList<>();
        synchronized (lock) {
            PoolException refusal = refusal(-1);
            if (refusal != null) {
                return CompletableFuture.failedFuture(refusal);
            }
            setupCode.add(code);
            for (Slot s : slots) {
                if (s.kernel != null && !s.retiring) {
                    Job job = setupJob(code, setupCode.size() - 1);
                    job.slot = s;
                    s.queue.add(job);
                    s.kernel.setupApplied(s.kernel.setupApplied() + 1);
                    results.add(job.future);
                }
            }
            pump(after);
        }
        runAll(after);
        // An instance retired before it ran the broadcast has no result (null): it is left out.
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .thenApply(v -> results.stream().map(CompletableFuture::join).filter(Objects::nonNull).toList());
    }

    private Job setupJob(String code, int setupIndex) {
        Job job = new Job(code, options.defaultTimeout(), null, null, null, true);
        job.setupIndex = setupIndex;
        job.future.attach(this);
        submitted++;
        queued++;
        job.timer = scheduler.schedule(() -> timedOut(job), job.timeout.toNanos(), TimeUnit.NANOSECONDS);
        return job;
    }

    private List<String> setupSnapshot() {
        synchronized (lock) {
            return List.copyOf(setupCode);
        }
    }

    // ---- leases ----

    /** An instance for exclusive, stateful use, waiting up to the pool's lease timeout. Close it to give it back. */
    public KernelLease lease() {
        return lease(options.leaseTimeout());
    }

    /**
     * An instance for exclusive use, waiting up to {@code timeout} for one to be free.
     *
     * @param timeout positive; longer than {@link PoolOptions#MAX_DURATION} means "no limit" and is clamped to it
     * @throws IllegalArgumentException when {@code timeout} is null, zero or negative
     */
    public KernelLease lease(Duration timeout) {
        Duration t = leaseTimeout(timeout);
        return Await.result(leaseAsync(t), t.plusSeconds(5), language, "lease");
    }

    /** As {@link #lease(Duration)}, without blocking. */
    public CompletableFuture<KernelLease> leaseAsync(Duration wait) {
        Duration timeout = leaseTimeout(wait);
        LeaseRequest request = new LeaseRequest();
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            PoolException refusal = refusal(-1);
            if (refusal != null) {
                return CompletableFuture.failedFuture(refusal);
            }
            leaseRequests.add(request);
            request.timer = scheduler.schedule(() -> leaseTimedOut(request, timeout), timeout.toNanos(), TimeUnit.NANOSECONDS);
            pump(after);
        }
        runAll(after);
        return request.future;
    }

    private static Duration leaseTimeout(Duration timeout) {
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("lease: timeout must be a positive duration, got " + timeout);
        }
        return InputChecks.clamp(timeout);
    }

    private void leaseTimedOut(LeaseRequest request, Duration timeout) {
        boolean removed;
        synchronized (lock) {
            removed = leaseRequests.remove(request);
            if (removed) {
                timeouts++;
            }
        }
        if (removed) {
            PoolException e = new PoolTimeoutException(language, -1,
                    "no instance was free for a lease within " + timeout.toMillis() + " ms", null);
            completer.execute(() -> request.future.completeExceptionally(e));
        }
    }

    CompletableFuture<ExecutionResult> submitLeased(KernelLease lease, String code, ExecuteOptions options) {
        Objects.requireNonNull(code, "code");
        InputChecks.checkCode(code, "code");
        ExecuteOptions o = options == null ? ExecuteOptions.DEFAULTS : options;
        if (o.instance() != null && o.instance() != lease.instance()) {
            throw new IllegalArgumentException("a lease runs on instance " + lease.instance() + ", not " + o.instance());
        }
        synchronized (lock) {
            if (lease.released()) {
                throw new IllegalStateException("lease on pool '" + language + "' instance " + lease.instance() + " was released");
            }
            if (lease.broken() != null) {
                return CompletableFuture.failedFuture(new PoolKernelDiedException(language, lease.instance(),
                        "the leased kernel died, and its state with it: " + lease.broken().getMessage(), lease.broken()));
            }
        }
        Job job = new Job(code, timeoutOf(o), o.listener(), o.input(), lease, false);
        job.maxOutputBytes = o.maxOutputBytes();
        return enqueue(job, null);
    }

    void release(KernelLease lease) {
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            lease.markReleased();
            pump(after);
        }
        runAll(after);
    }

    // ---- scaling ----

    /**
     * Scales to {@code n} ready instances and returns once they are. Growth starts kernels in
     * parallel; shrinking retires idle instances first and lets busy ones finish their queued work.
     * A fixed pool stays fixed at {@code n}; an elastic pool's floor becomes {@code n} (and its
     * ceiling, if it was lower).
     *
     * <p>Kernels start at most {@link PoolOptions#maxConcurrentStarts()} at a time. {@code n} may be
     * at most {@link PoolOptions#MAX_POOL_SIZE}; a size whose kernels would not fit in physical
     * memory is allowed, with a warning logged once (see {@link PoolOptions}).
     *
     * @throws IllegalArgumentException when {@code n} is below 1 or above {@link PoolOptions#MAX_POOL_SIZE};
     *         the pool is then left as it was
     */
    public void scale(int n) {
        Await.result(scaleAsync(n), options.maxStartWait(n).plus(BACKOFF_MAX), language, "scale(" + n + ")");
    }

    /** As {@link #scale}, without waiting. */
    public CompletableFuture<Void> scaleAsync(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("pool '" + language + "': scale(" + n + ") needs n >= 1; use shutdownPool to stop a pool");
        }
        if (n > PoolOptions.MAX_POOL_SIZE) {
            throw new IllegalArgumentException("pool '" + language + "': scale(" + n + ") is above the limit of "
                    + PoolOptions.MAX_POOL_SIZE + " kernels a pool (PoolOptions.MAX_POOL_SIZE)");
        }
        warnIfTooLarge(n);
        List<Runnable> after = new ArrayList<>();
        ScaleRequest request = new ScaleRequest();
        synchronized (lock) {
            if (state == PoolState.CLOSED) {
                return CompletableFuture.failedFuture(new PoolClosedException(language, -1, "pool is shut down", null));
            }
            boolean fixed = min == max;
            min = n;
            if (fixed || n > max) {
                max = n;
            }
            int active = activeCount();
            if (active > n) {
                List<Slot> candidates = slots.stream().filter(s -> !s.retiring)
                        .sorted(Comparator.comparing((Slot s) -> !(s.usable() && s.idle()))
                                .thenComparing(s -> -slots.indexOf(s)))
                        .limit(active - n).toList();
                for (Slot s : candidates) {
                    if (s.usable() && s.idle() || s.kernel == null) {
                        retire(s, after, "scaled down to " + n);
                    } else {
                        s.retiring = true;
                    }
                }
            } else {
                for (Slot s : slots) {
                    if (active < n && s.retiring) {
                        s.retiring = false;
                        active++;
                    }
                }
            }
            updatePoolBounds();
            scaleRequests.add(request);
            pump(after);
        }
        runAll(after);
        return request.future;
    }

    private void updatePoolBounds() {
        int finishing = (int) slots.stream().filter(s -> s.retiring).count();
        kernels.setMaxTotal(max + finishing);
        kernels.setMaxIdle(max);
    }

    /** Instances that are not retiring (including those restarting). */
    private int activeCount() {
        int n = 0;
        for (Slot s : slots) {
            if (!s.retiring) {
                n++;
            }
        }
        return n;
    }

    private int readyCount() {
        int n = 0;
        for (Slot s : slots) {
            if (!s.retiring && s.usable()) {
                n++;
            }
        }
        return n;
    }

    // ---- the dispatcher ----

    /** Hands waiting work to free instances, then grows, shrinks and settles scale requests. Under lock. */
    private void pump(List<Runnable> after) {
        if (state == PoolState.CLOSED) {
            return;
        }
        for (Slot s : List.copyOf(slots)) {
            if (!s.usable() || s.running != null || s.interrupting > 0) {
                continue;
            }
            Job next = null;
            if (s.lease != null) {
                next = s.leaseQueue.poll();
                if (next == null && s.lease.released()) {
                    s.lease = null;
                }
            }
            if (next == null && s.lease == null) {
                next = s.queue.poll();
                if (next == null && !s.retiring) {
                    LeaseRequest request = leaseRequests.poll();
                    if (request != null) {
                        grant(s, request, after);
                        continue;
                    }
                    next = queue.poll();
                }
            }
            if (next != null) {
                queued--;
                run(s, next, after);
            } else if (s.retiring && s.idle()) {
                retire(s, after, "scaled down");
            } else if (s.busyReported && s.lease == null) {
                s.busyReported = false;
                emit(PoolEvent.Type.IDLE, s, s.kernel.kernel(), Duration.ZERO, "");
            }
        }
        shrinkElastic(after);
        reconcile(after);
        settleScaleRequests(after);
        int instances = slots.size();
        after.add(() -> meters.instances(this, instances));
    }

    private void run(Slot s, Job job, List<Runnable> after) {
        job.started = true;
        job.slot = s;
        job.index = slots.indexOf(s);
        job.queueWait = Duration.ofNanos(System.nanoTime() - job.submittedNanos);
        s.running = job;
        meters.waited(job.queueWait);
        Kernel kernel = s.kernel.kernel();
        if (!s.busyReported) {
            s.busyReported = true;
            emit(PoolEvent.Type.BUSY, s, kernel, Duration.ZERO, "");
        }
        ExecuteRequest request = ExecuteRequest.builder(job.code).stopOnError(false).storeHistory(!job.setup)
                .maxOutputBytes(job.maxOutputBytes != null ? job.maxOutputBytes : options.maxOutputBytes())
                .listener(new JobListener(job.listener, () -> jobRunning(s, job), e -> outputRefused(job, e)))
                .input(job.input).build();
        after.add(() -> kernel.execute(request).whenComplete((r, e) -> finished(s, job, kernel, r, e)));
    }

    private void finished(Slot s, Job job, Kernel kernel, KernelExecution result, Throwable error) {
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            if (s.running == job) {
                s.running = null;
                s.executions++;
            }
            if (!job.finished) {
                job.finished = true;
                cancelTimer(job.timer);
                if (error == null) {
                    consecutiveFailures = 0;
                    switch (result.status()) {
                        case OK -> ok++;
                        case ERROR -> errors++;
                        case ABORTED -> aborted++;
                    }
                    meters.executed(result.runTime());
                    ExecutionResult r = new ExecutionResult(result, job.index, kernel.id(), job.queueWait, valuesAsDisplayData);
                    after.add(deliver(() -> job.future.complete(r)));
                    if (job.setup && result.status() != dev.carpo.pool.kernel.ReplyStatus.OK) {
                        LOG.warn("pool '{}' instance {}: setup code failed: {}", language, job.index, result.error());
                    }
                } else if (unwrap(error) instanceof OutputLimitException limit) {
                    outputLimited++;
                    PoolException e = outputLimit(job, limit);
                    after.add(deliver(() -> job.future.completeExceptionally(e)));
                } else {
                    Throwable cause = unwrap(error);
                    PoolException e = diedFailure(job.index, messageOf(cause), cause);
                    after.add(deliver(() -> job.future.completeExceptionally(e)));
                }
            }
            pump(after);
        }
        runAll(after);
    }

    /** A running job's failure for its kernel's death, counted: a memory limit's, or a plain death's. Under {@code lock}. */
    private PoolException diedFailure(int index, String message, Throwable cause) {
        if (cause instanceof KernelMemoryLimitException limit) {
            memoryLimited++;
            return new PoolMemoryLimitException(language, index, message, limit.limitBytes(), limit.peakBytes(), cause);
        }
        kernelDied++;
        return new PoolKernelDiedException(language, index, message, cause);
    }

    private void grant(Slot s, LeaseRequest request, List<Runnable> after) {
        cancelTimer(request.timer);
        KernelLease lease = new KernelLease(this, s, slots.indexOf(s), s.kernel.kernel().id());
        s.lease = lease;
        if (!s.busyReported) {
            s.busyReported = true;
            emit(PoolEvent.Type.BUSY, s, s.kernel.kernel(), Duration.ZERO, "leased");
        }
        after.add(deliver(() -> {
            if (!request.future.complete(lease)) {
                lease.close(); // the caller gave up on the same instant
            }
        }));
    }

    /**
     * Gives an elastic pool's idle extras back to commons-pool2, where the evictor ends them after
     * idleTimeout. Not while any job waits, even on another instance's queue: {@link #reconcile}
     * counts those too, and would borrow the extra straight back, round and round.
     */
    private void shrinkElastic(List<Runnable> after) {
        int excess = activeCount() - min;
        if (excess <= 0 || queued > 0 || !leaseRequests.isEmpty()) {
            return;
        }
        for (int i = slots.size() - 1; i >= 0 && excess > 0; i--) {
            Slot s = slots.get(i);
            if (!s.retiring && s.usable() && s.idle()) {
                emit(PoolEvent.Type.RETIRED, s, s.kernel.kernel(), Duration.ZERO,
                        "idle above min; kept warm for " + options.idleTimeout().toMillis() + " ms");
                slots.remove(i);
                retired++;
                PooledKernel pk = s.kernel;
                after.add(() -> {
                    try {
                        kernels.returnObject(pk);
                    } catch (RuntimeException e) {
                        LOG.warn("pool '{}': returning {} failed", language, pk, e);
                    }
                });
                excess--;
            }
        }
    }

    /**
     * Work still queued on a slot that goes away (placed there before it was chosen) is not lost:
     * back to the shared queue. Its broadcasts are not: every other instance runs its own, so
     * they end with no result for this instance.
     */
    private void requeue(Slot s, List<Runnable> after) {
        for (Job job : s.queue) {
            if (job.setupIndex >= 0) {
                answerQueuedBroadcast(job, null, after);
            } else {
                queue.add(job);
            }
        }
        s.queue.clear();
    }

    /** Ends a broadcast job taken off a queue without running it: with a result it already has, or none (null). */
    private void answerQueuedBroadcast(Job job, ExecutionResult result, List<Runnable> after) {
        queued--;
        job.finished = true;
        cancelTimer(job.timer);
        after.add(deliver(() -> job.future.complete(result)));
    }

    private void retire(Slot s, List<Runnable> after, String why) {
        int index = slots.indexOf(s);
        slots.remove(s);
        retired++;
        requeue(s, after);
        if (s.kernel != null) {
            PooledKernel pk = s.kernel;
            emitAt(PoolEvent.Type.RETIRED, index, pk.kernel(), Duration.ZERO, why);
            after.add(() -> invalidate(pk));
        }
        updatePoolBounds();
    }

    /** Starts kernels for slots that lost theirs, for the floor, and for waiting work up to max. Under lock. */
    private void reconcile(List<Runnable> after) {
        if (state == PoolState.CLOSED || retryScheduled) {
            return;
        }
        // At most maxConcurrentStarts starts at once (a start is mostly CPU, and a scale to hundreds must not
        // fork hundreds of kernels together); the rest are issued here again as each one arrives.
        int room = options.maxConcurrentStarts() - startingNew;
        for (Slot s : slots) {
            if (s.restarting) {
                room--;
            }
        }
        for (Slot s : slots) {
            if (room > 0 && s.kernel == null && !s.restarting) {
                s.restarting = true;
                room--;
                borrow(s, after);
            }
        }
        int capacity = activeCount() + startingNew;
        int wanted = Math.max(0, min - capacity);
        // Every job not yet started counts: round-robin and targeted jobs wait on instance queues.
        int waiting = queued + leaseRequests.size() - startingNew;
        if (waiting > 0 && noFreeSlot()) {
            wanted = Math.max(wanted, Math.min(waiting, max - capacity));
        }
        if (state == PoolState.FAILED && wanted == 0 && startingNew == 0 && slots.stream().noneMatch(s -> s.restarting)) {
            wanted = 1; // probe: only a successful start closes the circuit
        }
        wanted = Math.min(wanted, Math.max(0, room));
        for (int i = 0; i < wanted; i++) {
            startingNew++;
            borrow(null, after);
        }
    }

    private boolean noFreeSlot() {
        for (Slot s : slots) {
            if (!s.retiring && s.usable() && s.idle()) {
                return false;
            }
        }
        return true;
    }

    private void borrow(Slot slot, List<Runnable> after) {
        long t0 = System.nanoTime();
        after.add(() -> starter.execute(() -> {
            PooledKernel pk = null;
            Exception error = null;
            try {
                pk = kernels.borrowObject();
            } catch (Exception e) {
                error = e;
            } catch (Error e) {
                // arrived() must run whatever happened, or start() and scale() would wait for ever.
                error = new KernelStartException("kernel start failed: " + e, e);
            }
            arrived(slot, pk, error, Duration.ofNanos(System.nanoTime() - t0));
        }));
    }

    private void arrived(Slot slot, PooledKernel pk, Exception error, Duration elapsed) {
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            if (slot == null) {
                startingNew--;
            } else {
                slot.restarting = false;
            }
            if (state == PoolState.CLOSED) {
                if (pk != null) {
                    after.add(() -> invalidate(pk));
                }
            } else if (error != null || !pk.kernel().isAlive()) {
                if (pk != null) {
                    after.add(() -> invalidate(pk));
                }
                startFailed(error != null ? unwrap(error) : pk.kernel().onDeath().getNow(null), after);
            } else {
                accept(slot, pk, elapsed, after);
            }
        }
        runAll(after);
    }

    private void accept(Slot slot, PooledKernel pk, Duration elapsed, List<Runnable> after) {
        pk.joinedNanos(System.nanoTime());
        // A start only counts as a success once the kernel has lived through EARLY_DEATH, or served a job.
        scheduler.schedule(() -> {
            synchronized (lock) {
                if (pk.kernel().isAlive()) {
                    consecutiveFailures = 0;
                }
            }
        }, EARLY_DEATH.toNanos(), TimeUnit.NANOSECONDS);
        if (pk.firstUse()) {
            kernelsStarted++;
            meters.started(elapsed);
        }
        Slot target;
        if (slot != null && slots.contains(slot) && slot.kernel == null) {
            target = slot;
            target.kernel = pk;
            restarts++;
            emit(PoolEvent.Type.RESTARTED, target, pk.kernel(), elapsed, "");
        } else {
            target = new Slot(pk);
            slots.add(target);
            emit(PoolEvent.Type.READY, target, pk.kernel(), elapsed, "");
        }
        // Broadcasts still queued for the kernel this one replaces: answer those it ran at start with
        // that run; keep the others as its catch-up, so no broadcast is queued twice.
        Map<Integer, Job> stale = new HashMap<>();
        for (Iterator<Job> it = target.queue.iterator(); it.hasNext(); ) {
            Job job = it.next();
            if (job.setupIndex < 0 || job.finished) {
                continue;
            }
            it.remove();
            if (job.setupIndex < pk.startSetupCount()) {
                answerQueuedBroadcast(job, new ExecutionResult(pk.startSetup(job.setupIndex), slots.indexOf(target),
                        pk.kernel().id(), Duration.ofNanos(System.nanoTime() - job.submittedNanos), valuesAsDisplayData), after);
            } else if (job.setupIndex < pk.setupApplied()) {
                // A warm kernel that already ran it while serving before: nothing to run, no result to give.
                answerQueuedBroadcast(job, null, after);
            } else {
                stale.put(job.setupIndex, job);
            }
        }
        // Broadcasts this kernel has not run yet go first, in order.
        for (int i = setupCode.size() - 1; i >= pk.setupApplied(); i--) {
            Job job = stale.remove(i);
            if (job == null) {
                job = setupJob(setupCode.get(i), i);
            }
            job.slot = target;
            target.queue.addFirst(job);
        }
        pk.releaseStartSetup();
        pk.setupApplied(setupCode.size());
        if (state != PoolState.RUNNING && readyCount() >= min) {
            if (state == PoolState.FAILED) {
                LOG.info("pool '{}' recovered: a kernel started again", language);
            }
            state = PoolState.RUNNING;
            failure = null;
        }
        pump(after);
    }

    private void startFailed(Throwable cause, List<Runnable> after) {
        startFailures++;
        backOff(cause, after);
    }

    /** One more failure in a row: open the circuit at the limit, and retry after the backoff. */
    private void backOff(Throwable cause, List<Runnable> after) {
        consecutiveFailures++;
        LOG.warn("pool '{}': kernel failed to start or died young ({} in a row): {}", language, consecutiveFailures, messageOf(cause));
        if (consecutiveFailures >= options.maxStartAttempts() || state == PoolState.FAILED) {
            failure = cause;
            if (state != PoolState.FAILED) {
                state = PoolState.FAILED;
                failWaiting(after);
            }
        }
        if (!retryScheduled) {
            retryScheduled = true;
            Duration delay = backoff.delay(consecutiveFailures);
            scheduler.schedule(() -> {
                List<Runnable> later = new ArrayList<>();
                synchronized (lock) {
                    retryScheduled = false;
                    pump(later);
                }
                runAll(later);
            }, delay.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** The circuit opened: every job, lease and scale request that is waiting fails now. */
    private void failWaiting(List<Runnable> after) {
        List<Job> waiting = new ArrayList<>(queue);
        queue.clear();
        for (Slot s : slots) {
            waiting.addAll(s.queue);
            waiting.addAll(s.leaseQueue);
            s.queue.clear();
            s.leaseQueue.clear();
        }
        for (Job job : waiting) {
            queued--;
            if (!job.finished) {
                job.finished = true;
                rejected++;
                cancelTimer(job.timer);
                PoolException e = new PoolFailedException(language, -1, "cannot start kernels: " + messageOf(failure), failure);
                after.add(deliver(() -> job.future.completeExceptionally(e)));
            }
        }
        for (LeaseRequest r : leaseRequests) {
            cancelTimer(r.timer);
            PoolException e = new PoolFailedException(language, -1, "cannot start kernels: " + messageOf(failure), failure);
            after.add(deliver(() -> r.future.completeExceptionally(e)));
        }
        leaseRequests.clear();
        for (ScaleRequest r : scaleRequests) {
            PoolException e = new PoolFailedException(language, -1, "cannot start kernels: " + messageOf(failure), failure);
            after.add(deliver(() -> r.future.completeExceptionally(e)));
        }
        scaleRequests.clear();
    }

    private void settleScaleRequests(List<Runnable> after) {
        if (scaleRequests.isEmpty() || state == PoolState.FAILED || readyCount() < min) {
            return;
        }
        for (ScaleRequest r : scaleRequests) {
            after.add(deliver(() -> r.future.complete(null)));
        }
        scaleRequests.clear();
    }

    // ---- failures of running work ----

    private void kernelDied(PooledKernel pk, KernelDiedException cause) {
        List<Runnable> after = new ArrayList<>();
        try {
            kernelDiedLocked(pk, cause, after);
        } finally {
            runAll(after);
        }
    }

    private void kernelDiedLocked(PooledKernel pk, KernelDiedException cause, List<Runnable> after) {
        synchronized (lock) {
            launched.remove(pk.kernel());
            goneRejected.addAndGet(pk.kernel().rejectedMessages());
            Slot s = null;
            for (Slot candidate : slots) {
                if (candidate.kernel == pk) {
                    s = candidate;
                }
            }
            if (s == null || state == PoolState.CLOSED) {
                return; // idle in commons-pool2 (validation drops it), retired, or shutting down
            }
            if (cause.requested()) {
                // Shut down by its runtime (JVM exit), not by this pool: close rather than restart.
                after.add(this::closeAsync);
                return;
            }
            deaths++;
            int index = slots.indexOf(s);
            emitAt(PoolEvent.Type.DEAD, index, pk.kernel(), Duration.ZERO, cause.getMessage());
            s.kernel = null;
            s.busyReported = false;
            Job running = s.running;
            s.running = null;
            if (running != null && !running.finished) {
                running.finished = true;
                cancelTimer(running.timer);
                PoolException e = diedFailure(index, cause.getMessage(), cause);
                after.add(deliver(() -> running.future.completeExceptionally(e)));
            }
            if (s.lease != null) {
                s.lease.markBroken(cause);
                for (Job job : s.leaseQueue) {
                    queued--;
                    job.finished = true;
                    kernelDied++;
                    cancelTimer(job.timer);
                    PoolException e = new PoolKernelDiedException(language, index,
                            "the leased kernel died, and its state with it: " + cause.getMessage(), cause);
                    after.add(deliver(() -> job.future.completeExceptionally(e)));
                }
                s.leaseQueue.clear();
                s.lease = null;
            }
            after.add(() -> invalidate(pk));
            if (System.nanoTime() - pk.joinedNanos() < EARLY_DEATH.toNanos() && !(cause instanceof KernelMemoryLimitException)) {
                // Crashed right after starting: like a failed start, restarts back off and the circuit can open.
                // (Not a memory limit: that is what a job did, and a fresh kernel is the cure, at once.)
                backOff(cause, after);
            }
            if (s.retiring || (activeCount() > min && s.queue.isEmpty())) {
                slots.remove(s);
                requeue(s, after);
                updatePoolBounds();
            }
            pump(after);
        }
    }

    private void timedOut(Job job) {
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            if (job.finished) {
                return;
            }
            job.finished = true;
            timeouts++;
            PoolException e;
            if (!job.started) {
                unqueue(job);
                e = new PoolTimeoutException(language, -1, "job did not start within " + job.timeout.toMillis()
                        + " ms (" + queued + " other job(s) waiting)", null);
            } else {
                e = new PoolTimeoutException(language, job.index, "job did not complete within " + job.timeout.toMillis()
                        + " ms; its kernel was interrupted", null);
                interrupt(job, after);
            }
            after.add(deliver(() -> job.future.completeExceptionally(e)));
            pump(after);
        }
        runAll(after);
    }

    /**
     * A message for the job was too large to receive: the job ends now, as at a timeout (its output
     * cannot be complete, and the kernel may go on flooding), and the kernel is interrupted; it is
     * replaced if it does not come back within the interrupt grace.
     */
    private void outputRefused(Job job, OutputLimitException refused) {
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            if (job.finished) {
                return;
            }
            job.finished = true;
            outputLimited++;
            cancelTimer(job.timer);
            PoolException e = outputLimit(job, refused);
            interrupt(job, after);
            after.add(deliver(() -> job.future.completeExceptionally(e)));
            pump(after);
        }
        runAll(after);
    }

    private PoolOutputLimitException outputLimit(Job job, OutputLimitException refused) {
        return new PoolOutputLimitException(language, job.index, refused.getMessage()
                + " (PoolOptions.maxMessageBytes(), from maxOutputBytes " + options.maxOutputBytes()
                + "); the job was ended and its kernel interrupted", refused);
    }

    void cancelled(Job job, boolean interrupt) {
        List<Runnable> after = new ArrayList<>();
        synchronized (lock) {
            if (job.finished) {
                return;
            }
            job.finished = true;
            cancelledCount++;
            cancelTimer(job.timer);
            if (!job.started) {
                unqueue(job);
            } else if (interrupt) {
                interrupt(job, after);
            }
            pump(after);
        }
        runAll(after);
    }

    private void unqueue(Job job) {
        boolean removed = queue.remove(job);
        if (!removed && job.slot != null) {
            removed = job.slot.queue.remove(job) || job.slot.leaseQueue.remove(job);
        }
        if (removed) {
            queued--;
        }
    }

    /**
     * Interrupts the kernel running {@code job}; if the kernel is still on that job after the grace
     * period, it is killed and the pool replaces it (its death is handled like any other). A job the
     * kernel has not begun yet is interrupted when it does: ipykernel ignores SIGINT between cells and
     * the built-in kernels ignore an interrupt with no cell running, so one sent earlier is lost.
     * Until this pool's kernels have shown they publish execute_input, it also goes out after
     * {@link #INTERRUPT_FALLBACK}, for kernels that never do.
     */
    private void interrupt(Job job, List<Runnable> after) {
        Slot s = job.slot;
        PooledKernel pk = s.kernel;
        if (pk == null) {
            return;
        }
        if (job.running) {
            after.add(() -> sendInterrupt(s, job, pk));
        } else {
            job.interruptPending = true;
            if (!executeInputSeen) {
                long fallback = Math.min(INTERRUPT_FALLBACK.toNanos(), options.interruptGrace().toNanos() / 2);
                scheduler.schedule(() -> sendPendingInterrupt(s, job), fallback, TimeUnit.NANOSECONDS);
            }
        }
        scheduler.schedule(() -> {
            boolean stuck;
            synchronized (lock) {
                stuck = s.running == job && s.kernel == pk && state != PoolState.CLOSED;
            }
            if (stuck) {
                LOG.warn("pool '{}' instance {}: kernel {} did not return to idle {} ms after an interrupt; replacing it",
                        language, job.index, pk.kernel().id(), options.interruptGrace().toMillis());
                pk.kernel().kill();
            }
        }, options.interruptGrace().toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The kernel has begun {@code job}: an interrupt asked for before now goes out. */
    private void jobRunning(Slot s, Job job) {
        synchronized (lock) {
            job.running = true;
            executeInputSeen = true;
        }
        sendPendingInterrupt(s, job);
    }

    private void sendPendingInterrupt(Slot s, Job job) {
        PooledKernel pk;
        synchronized (lock) {
            if (!job.interruptPending) {
                return;
            }
            job.interruptPending = false;
            pk = s.kernel;
        }
        if (pk != null) {
            sendInterrupt(s, job, pk);
        }
    }

    /**
     * The slot takes no next job until the interrupt has gone out (kill returned, interrupt_reply
     * or the gateway's answer came): one that lands late would otherwise stop the next caller's job.
     */
    private void sendInterrupt(Slot s, Job job, PooledKernel pk) {
        synchronized (lock) {
            if (s.running != job || s.kernel != pk) {
                return;
            }
            s.interrupting++;
        }
        pk.kernel().interrupt().orTimeout(options.interruptGrace().toNanos(), TimeUnit.NANOSECONDS)
                .whenComplete((r, e) -> {
                    List<Runnable> after = new ArrayList<>();
                    synchronized (lock) {
                        s.interrupting--;
                        pump(after);
                    }
                    runAll(after);
                });
    }

    // ---- stats, events, close ----

    /** A snapshot of the pool, with each instance's memory and CPU read from /proc. */
    public PoolStats stats() {
        PoolStats s = snapshot();
        List<PoolStats.Instance> withUsage = new ArrayList<>();
        for (PoolStats.Instance i : s.instances()) {
            dev.carpo.pool.metrics.ProcessUsage u = dev.carpo.pool.metrics.ProcessUsage.read(i.pid());
            withUsage.add(new PoolStats.Instance(i.index(), i.kernelId(), i.pid(), i.state(), i.queued(), i.executions(),
                    u.residentBytes(), u.cpuSeconds()));
        }
        return new PoolStats(s.language(), s.state(), s.strategy(), s.size(), s.idle(), s.busy(), s.leased(), s.starting(),
                s.queued(), s.min(), s.max(), s.submitted(), s.ok(), s.errors(), s.aborted(), s.timeouts(), s.cancelled(),
                s.rejected(), s.kernelDied(), s.kernelsStarted(), s.startFailures(), s.restarts(), s.deaths(), s.retired(),
                s.outputLimited(), s.memoryLimited(), s.failure(), withUsage);
    }

    /** Resource usage of one instance's kernel now ({@link dev.carpo.pool.metrics.ProcessUsage#UNKNOWN} if there is none). */
    dev.carpo.pool.metrics.ProcessUsage usage(int instance) {
        long pid;
        synchronized (lock) {
            pid = instance < slots.size() && slots.get(instance).kernel != null ? slots.get(instance).kernel.kernel().pid() : -1;
        }
        return dev.carpo.pool.metrics.ProcessUsage.read(pid);
    }

    /** Incoming messages dropped for a bad signature or framing, over every kernel this pool started. */
    long rejectedMessages() {
        long sum = goneRejected.get();
        for (Kernel k : launched) {
            sum += k.rejectedMessages();
        }
        return sum;
    }

    /** The snapshot without /proc reads (usage -1), cheap enough for every gauge of a scrape. */
    PoolStats snapshot() {
        synchronized (lock) {
            int idleHeld = 0;
            int busy = 0;
            int leased = 0;
            int live = 0;
            List<PoolStats.Instance> instances = new ArrayList<>();
            for (int i = 0; i < slots.size(); i++) {
                Slot s = slots.get(i);
                if (s.kernel != null) {
                    live++;
                }
                if (s.lease != null) {
                    leased++;
                } else if (s.running != null) {
                    busy++;
                } else if (s.kernel != null) {
                    idleHeld++;
                }
                Kernel k = s.kernel != null ? s.kernel.kernel() : null;
                instances.add(new PoolStats.Instance(i, k != null ? k.id() : null, k != null ? k.pid() : -1,
                        s.stateName(), s.queue.size() + s.leaseQueue.size(), s.executions, -1, -1));
            }
            int warm = state == PoolState.CLOSED ? 0 : kernels.getNumIdle();
            int starting = startingNew + (int) slots.stream().filter(s -> s.restarting).count();
            return new PoolStats(language, state, options.strategy(), live + warm, idleHeld + warm, busy, leased,
                    starting, queued, min, max, submitted, ok, errors, aborted, timeouts, cancelledCount, rejected,
                    kernelDied, kernelsStarted, startFailures, restarts, deaths, retired, outputLimited, memoryLimited,
                    state == PoolState.FAILED ? messageOf(failure) : null, instances);
        }
    }

    private void launched(Kernel kernel) {
        launched.add(kernel);
        boolean closed;
        synchronized (lock) {
            closed = state == PoolState.CLOSED;
        }
        if (closed) {
            // Launched while the pool closes: end it now. Not connected yet, it could not answer a shutdown_request.
            kernel.kill();
            return;
        }
        emitAt(PoolEvent.Type.STARTING, -1, kernel, Duration.ZERO, "");
    }

    private void emit(PoolEvent.Type type, Slot s, Kernel kernel, Duration elapsed, String detail) {
        emitAt(type, slots.indexOf(s), kernel, elapsed, detail);
    }

    private void emitAt(PoolEvent.Type type, int index, Kernel kernel, Duration elapsed, String detail) {
        PoolEvent event = new PoolEvent(type, language, index, kernel.id(), kernel.pid(), elapsed,
                detail == null ? "" : detail, Instant.now());
        events.execute(() -> {
            for (PoolListener l : listeners) {
                deliver(l, event);
            }
            for (PoolListener l : sharedListeners) {
                deliver(l, event);
            }
        });
    }

    private static void deliver(PoolListener listener, PoolEvent event) {
        try {
            listener.onEvent(event);
        } catch (RuntimeException e) {
            LOG.warn("pool listener failed on {}", event, e);
        }
    }

    /** Shuts every kernel down in parallel and fails all unfinished work with {@link PoolClosedException}. */
    @Override
    public void close() {
        Await.result(closeAsync(), options.shutdownGrace().multipliedBy(2).plusSeconds(30), language, "close");
    }

    /** As {@link #close}, without waiting. */
    public CompletableFuture<Void> closeAsync() {
        List<Runnable> after = new ArrayList<>();
        List<PooledKernel> held = new ArrayList<>();
        CompletableFuture<Void> done;
        synchronized (lock) {
            if (closing != null) {
                return closing;
            }
            closing = new CompletableFuture<>();
            done = closing;
            state = PoolState.CLOSED;
            PoolException closed = new PoolClosedException(language, -1, "pool was shut down", null);
            List<Job> unfinished = new ArrayList<>(queue);
            queue.clear();
            for (Slot s : slots) {
                unfinished.addAll(s.queue);
                unfinished.addAll(s.leaseQueue);
                if (s.running != null) {
                    unfinished.add(s.running);
                }
                if (s.lease != null) {
                    s.lease.markReleased();
                }
                if (s.kernel != null) {
                    held.add(s.kernel);
                }
            }
            slots.clear();
            queued = 0;
            for (Job job : unfinished) {
                if (!job.finished) {
                    job.finished = true;
                    cancelTimer(job.timer);
                    after.add(deliver(() -> job.future.completeExceptionally(closed)));
                }
            }
            for (LeaseRequest r : leaseRequests) {
                cancelTimer(r.timer);
                after.add(deliver(() -> r.future.completeExceptionally(closed)));
            }
            leaseRequests.clear();
            for (ScaleRequest r : scaleRequests) {
                after.add(deliver(() -> r.future.completeExceptionally(closed)));
            }
            scaleRequests.clear();
        }
        runAll(after);
        meters.close();
        List<CompletableFuture<Void>> shutdowns = new ArrayList<>();
        for (PooledKernel pk : held) {
            shutdowns.add(pk.kernel().shutdown());
            invalidate(pk);
        }
        kernels.close();
        for (Kernel k : launched) {
            shutdowns.add(k.shutdown()); // still starting, or idle in commons-pool2
        }
        CompletableFuture.allOf(shutdowns.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            onClosed.run();
            done.complete(null);
        });
        return done;
    }

    private void invalidate(PooledKernel pk) {
        try {
            kernels.invalidateObject(pk);
        } catch (Exception e) {
            // Not borrowed (already destroyed): shut it down directly.
            pk.kernel().shutdown();
        }
    }

    /**
     * Completions of callers' futures run on their own executor: a caller's callback that blocks
     * (say, on another job of this pool) must not stall a kernel's callbacks or the pool's timers.
     */
    private Runnable deliver(Runnable completion) {
        return () -> completer.execute(completion);
    }

    private static void cancelTimer(Future<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    private static void runAll(List<Runnable> actions) {
        for (Runnable r : actions) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.error("pool action failed", e);
            }
        }
    }

    static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    private static String messageOf(Throwable e) {
        return e == null ? "unknown" : e.getMessage() != null ? e.getMessage() : e.toString();
    }

    @Override
    public String toString() {
        return "LanguagePool[" + language + ", " + spec.name() + "]";
    }

    /** A caller waiting for an instance to lease. */
    private static final class LeaseRequest {
        final CompletableFuture<KernelLease> future = new CompletableFuture<>();
        Future<?> timer;
    }

    /** A caller waiting for the pool to reach its size. */
    private static final class ScaleRequest {
        final CompletableFuture<Void> future = new CompletableFuture<>();
    }
}

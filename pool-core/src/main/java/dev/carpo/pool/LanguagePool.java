package dev.carpo.pool;

import dev.carpo.pool.engine.Await;
import dev.carpo.pool.engine.Lease;
import dev.carpo.pool.engine.PoolEngine;
import dev.carpo.pool.engine.PoolFront;
import dev.carpo.pool.kernel.InputChecks;
import dev.carpo.pool.kernel.KernelExecution;
import dev.carpo.pool.kernel.KernelRuntime;
import dev.carpo.pool.kernel.KernelSpec;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

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
 * touches another's. The machinery lives in {@code dev.carpo.pool.engine}, which explains how
 * the dispatcher and commons-pool2 share the kernels.
 */
public final class LanguagePool implements AutoCloseable {
    private final String language;
    private final KernelSpec spec;
    private final PoolOptions options;
    private final PoolEngine engine;

    LanguagePool(String language, KernelSpec spec, PoolOptions options, KernelRuntime runtime, Path runtimeDir,
                 Executor starter, Executor completer, ScheduledExecutorService scheduler, Executor events,
                 List<PoolListener> sharedListeners, Runnable onClosed, MeterRegistry registry) {
        this.language = language;
        this.spec = spec;
        this.options = options;
        boolean valuesAsDisplayData = "r".equalsIgnoreCase(spec.language());
        PoolFront front = new PoolFront() {
            @Override
            public ExecutionResult result(KernelExecution execution, int instance, String kernelId, Duration queueWait) {
                return new ExecutionResult(execution, instance, kernelId, queueWait, valuesAsDisplayData);
            }

            @Override
            public KernelLease lease(Lease lease) {
                return new KernelLease(LanguagePool.this, lease);
            }
        };
        this.engine = new PoolEngine(front, language, spec, options, runtime, runtimeDir, starter, completer, scheduler,
                events, sharedListeners, onClosed, registry);
    }

    /** Starts the first {@code min} kernels; completes when they are ready or the circuit opens. */
    CompletableFuture<LanguagePool> start() {
        return engine.start().thenApply(v -> this);
    }

    /** The language key this pool was created under. */
    public String language() {
        return language;
    }

    /** Where its kernels run: {@code local}, or the gateway's {@code host:port} (the metrics' {@code location} tag). */
    public String location() {
        return engine.location();
    }

    /** The kernelspec its kernels start from. */
    public KernelSpec spec() {
        return spec;
    }

    /** The options it was created with (bounds may since have changed through {@link #scale}). */
    public PoolOptions options() {
        return engine.bounds(options::withBounds);
    }

    /** Where the pool stands: starting, running, failed (circuit open) or closed. */
    public PoolState state() {
        return engine.state();
    }

    /** Receives this pool's lifecycle events, on the pools' event thread. */
    public void addListener(PoolListener listener) {
        engine.addListener(listener);
    }

    public void removeListener(PoolListener listener) {
        engine.removeListener(listener);
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
        return engine.submit(code, options == null ? ExecuteOptions.DEFAULTS : options, null);
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
        return engine.timeoutOf(o);
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
        return engine.broadcast(code);
    }

    // ---- leases ----

    /** An instance for exclusive, stateful use, waiting up to the pool's lease timeout. Close it to give it back. */
    public KernelLease lease() {
        return lease(options.leaseTimeout());
    }

    /**
     * An instance for exclusive use, waiting up to {@code timeout} for one to be free. On a pool with
     * {@link PoolOptions.Builder#freshLeases freshLeases}, its kernel has run nothing but the pool's
     * setup code, and is discarded (and replaced in the background) when the lease is closed; with
     * {@link PoolOptions.Builder#leakDetectionThreshold leakDetectionThreshold}, a lease held longer is
     * logged with this call's stack.
     *
     * <pre>{@code
     * try (KernelLease session = py.lease(Duration.ofSeconds(10))) {
     *     session.execute("x = 1");   // the next lease on a fresh-leases pool will not see x
     * }
     * }</pre>
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
        return engine.lease(leaseTimeout(wait));
    }

    private static Duration leaseTimeout(Duration timeout) {
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("lease: timeout must be a positive duration, got " + timeout);
        }
        return InputChecks.clamp(timeout);
    }

    CompletableFuture<ExecutionResult> submitLeased(Lease lease, String code, ExecuteOptions options) {
        Objects.requireNonNull(code, "code");
        InputChecks.checkCode(code, "code");
        ExecuteOptions o = options == null ? ExecuteOptions.DEFAULTS : options;
        if (o.instance() != null && o.instance() != lease.index()) {
            throw new IllegalArgumentException("a lease runs on instance " + lease.index() + ", not " + o.instance());
        }
        return engine.submitLeased(lease, code, o);
    }

    void release(Lease lease) {
        engine.release(lease);
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
        Await.result(scaleAsync(n), engine.blockingScaleWait(n), language, "scale(" + n + ")");
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
        return engine.scale(n);
    }

    // ---- stats, close ----

    /** A snapshot of the pool, with each instance's memory and CPU read from /proc. */
    public PoolStats stats() {
        return engine.stats(true);
    }

    /** Shuts every kernel down in parallel and fails all unfinished work with {@link PoolClosedException}. */
    @Override
    public void close() {
        Await.result(closeAsync(), options.shutdownGrace().multipliedBy(2).plusSeconds(30), language, "close");
    }

    /** As {@link #close}, without waiting. */
    public CompletableFuture<Void> closeAsync() {
        return engine.close();
    }

    @Override
    public String toString() {
        return "LanguagePool[" + language + ", " + spec.name() + "]";
    }
}

package dev.carpo.pool;

import dev.carpo.pool.engine.Await;
import dev.carpo.pool.engine.Lease;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Exclusive use of one instance, for stateful work: no other job runs on it until the lease is
 * closed. Jobs submitted on a lease run in order. If the kernel dies, the lease is broken: its
 * state is gone, so every later job on it fails with {@link PoolKernelDiedException}.
 *
 * <p>Example:
 * <pre>{@code
 * try (KernelLease k = py.lease()) {
 *     k.execute("x = 1");
 *     k.execute("x + 1").text();   // "2"
 * }
 * }</pre>
 */
public final class KernelLease implements AutoCloseable {
    private final LanguagePool pool;
    private final Lease lease;

    KernelLease(LanguagePool pool, Lease lease) {
        this.pool = pool;
        this.lease = lease;
    }

    /** The instance index when the lease was granted. */
    public int instance() {
        return lease.index();
    }

    /** The leased kernel's id. */
    public String kernelId() {
        return lease.kernelId();
    }

    /** The pool the lease belongs to. */
    public LanguagePool pool() {
        return pool;
    }

    /** Runs code on the leased kernel and waits, with the pool's default timeout. */
    public ExecutionResult execute(String code) {
        return execute(code, ExecuteOptions.DEFAULTS);
    }

    /** Runs code on the leased kernel and waits. */
    public ExecutionResult execute(String code, ExecuteOptions options) {
        ExecuteOptions o = options == null ? ExecuteOptions.DEFAULTS : options;
        return Await.result(submit(code, o), pool.timeoutOf(o).plusSeconds(5), pool.language(), "execution");
    }

    /** Submits code to the leased kernel, with the pool's default timeout. */
    public CompletableFuture<ExecutionResult> submit(String code) {
        return submit(code, ExecuteOptions.DEFAULTS);
    }

    /**
     * Submits code to the leased kernel.
     *
     * @throws IllegalStateException when the lease has been released
     */
    public CompletableFuture<ExecutionResult> submit(String code, ExecuteOptions options) {
        return pool.submitLeased(lease, code, options);
    }

    /** Gives the instance back; work already submitted on the lease still runs first. Idempotent. */
    @Override
    public void close() {
        if (!lease.released()) {
            pool.release(lease);
        }
    }

    @Override
    public String toString() {
        return "KernelLease[" + pool.language() + " instance " + lease.index() + (lease.released() ? ", released" : "") + "]";
    }
}

package dev.carpo.pool;

import dev.carpo.pool.kernel.KernelDiedException;
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
    private final Slot slot;
    private final int instance;
    private final String kernelId;
    private volatile boolean released;
    private volatile KernelDiedException broken;

    KernelLease(LanguagePool pool, Slot slot, int instance, String kernelId) {
        this.pool = pool;
        this.slot = slot;
        this.instance = instance;
        this.kernelId = kernelId;
    }

    /** The instance index when the lease was granted. */
    public int instance() {
        return instance;
    }

    public String kernelId() {
        return kernelId;
    }

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

    public CompletableFuture<ExecutionResult> submit(String code) {
        return submit(code, ExecuteOptions.DEFAULTS);
    }

    /**
     * Submits code to the leased kernel.
     *
     * @throws IllegalStateException when the lease has been released
     */
    public CompletableFuture<ExecutionResult> submit(String code, ExecuteOptions options) {
        return pool.submitLeased(this, code, options);
    }

    /** Gives the instance back; work already submitted on the lease still runs first. Idempotent. */
    @Override
    public void close() {
        if (!released) {
            pool.release(this);
        }
    }

    Slot slot() {
        return slot;
    }

    boolean released() {
        return released;
    }

    void markReleased() {
        released = true;
    }

    KernelDiedException broken() {
        return broken;
    }

    void markBroken(KernelDiedException cause) {
        broken = cause;
    }

    @Override
    public String toString() {
        return "KernelLease[" + pool.language() + " instance " + instance + (released ? ", released" : "") + "]";
    }
}

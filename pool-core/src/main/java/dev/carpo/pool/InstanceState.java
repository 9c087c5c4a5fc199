package dev.carpo.pool;

import java.util.Locale;

/**
 * What one instance of a pool is doing, as {@link PoolStats.Instance#state()} reports it. When
 * more than one holds, the first listed below wins: an instance under a lease whose job is being
 * interrupted is {@code INTERRUPTING}.
 *
 * <p>A kernel being started for a new instance is not an instance yet: it is counted in
 * {@link PoolStats#starting()} and gets its index when it is ready.
 *
 * <p>Example: {@code py.stats().instances().get(1).state() == InstanceState.BUSY}.
 */
public enum InstanceState {
    /** Its kernel died (or was killed) and a replacement is being started; jobs placed on it wait for that. */
    RESTARTING,
    /** Scaled away: it finishes the work already running, queued or leased on it, then its kernel ends. */
    RETIRING,
    /** Its job timed out or was cancelled and its kernel is being interrupted; it takes no next job until the kernel is back. */
    INTERRUPTING,
    /** Held by a {@link KernelLease}: only the lease's jobs run on it. */
    LEASED,
    /** Running a job. */
    BUSY,
    /** Ready, with nothing to do. */
    IDLE;

    /** The lower-case name Lua's {@code pool_stats().instances} and the {@code carpo} command show: {@code "idle"}, {@code "busy"}, … */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}

package dev.carpo.pool;

/**
 * How a pool places jobs that do not name an instance.
 *
 * <p>Example: {@code PoolOptions.builder().size(4).strategy(Dispatch.ROUND_ROBIN).build()}
 */
public enum Dispatch {
    /** Submission i goes to instance i mod n, in instance order, busy or not: predictable placement. */
    ROUND_ROBIN,
    /** Work-conserving: no instance sits idle while a job waits; a job goes to the least busy instance. */
    LEAST_BUSY
}

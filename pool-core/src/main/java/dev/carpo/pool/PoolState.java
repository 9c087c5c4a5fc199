package dev.carpo.pool;

/** Where a pool stands. */
public enum PoolState {
    /** Starting its first {@code min} kernels. */
    STARTING,
    /** Taking work. */
    RUNNING,
    /** Kernels failed to start repeatedly: submissions fail at once until a start succeeds again. */
    FAILED,
    /** Shut down. */
    CLOSED
}

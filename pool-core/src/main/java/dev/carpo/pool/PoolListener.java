package dev.carpo.pool;

/**
 * Receives a pool's lifecycle events, in order per kernel, on carpo's event thread (never the I/O
 * thread). A slow listener delays later events, not executions.
 *
 * <p>Example: {@code pools.addListener(e -> System.err.println(e));}
 */
@FunctionalInterface
public interface PoolListener {
    void onEvent(PoolEvent event);
}

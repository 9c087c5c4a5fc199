package dev.carpo.pool.engine;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The circuit over kernel starts: counts starts that failed (or kernels that died young) in a row,
 * says when the limit is reached, and spaces the next attempt by the {@link Backoff}. While a
 * retry is scheduled, the engine starts nothing. A start counts as a success once its kernel has
 * lived through {@link #EARLY_DEATH}. Guarded by the engine's lock.
 */
final class StartCircuit {
    /** A kernel that dies this soon after joining the pool counts as a failed start (restart limit, backoff). */
    static final Duration EARLY_DEATH = Duration.ofSeconds(10);
    private static final Duration BACKOFF_MAX = Duration.ofSeconds(30);

    private final Backoff backoff;
    private final int maxAttempts;
    private int failuresInARow;
    private boolean retryScheduled;

    StartCircuit(Duration initialBackoff, int maxAttempts) {
        this.backoff = new Backoff(initialBackoff, initialBackoff.compareTo(BACKOFF_MAX) > 0 ? initialBackoff : BACKOFF_MAX);
        this.maxAttempts = maxAttempts;
    }

    /** The longest a retry waits: what a blocking scale must allow beyond the starts themselves. */
    static Duration maxBackoff() {
        return BACKOFF_MAX;
    }

    /** One more failure in a row; true when that reaches the limit (the circuit opens). */
    boolean failed() {
        failuresInARow++;
        return failuresInARow >= maxAttempts;
    }

    int failuresInARow() {
        return failuresInARow;
    }

    /** A kernel lived through {@link #EARLY_DEATH} or served: the count starts again. */
    void succeeded() {
        failuresInARow = 0;
    }

    /** No start may be issued: a retry after a failure is still waiting for its backoff. */
    boolean waiting() {
        return retryScheduled;
    }

    /** Schedules {@code retry} after the backoff for the failures so far, unless one is already scheduled. */
    void scheduleRetry(ScheduledExecutorService scheduler, Runnable retry) {
        if (retryScheduled) {
            return;
        }
        retryScheduled = true;
        scheduler.schedule(retry, backoff.delay(failuresInARow).toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The scheduled retry is running (under the lock): starts may be issued again. */
    void retrying() {
        retryScheduled = false;
    }
}

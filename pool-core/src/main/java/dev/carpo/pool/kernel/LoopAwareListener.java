package dev.carpo.pool.kernel;

/**
 * An {@link OutputListener} for the library's own bookkeeping (a pool learning that its job has
 * begun), told on the I/O loop thread itself: a call queued to a callback thread for every
 * execution is a thread hand-off per job. Not for user code, which must never run on that thread.
 *
 * <p>Example: the pool engine's job listener, which marks the job as running so that an interrupt
 * held for it can go out.
 */
public interface LoopAwareListener extends OutputListener {
    /** On the I/O loop thread, as execute_input arrives: must return at once and never block or wait on the loop. */
    void startedOnLoop(int executionCount);

    /** Whether the usual calls (on a callback thread) do anything; false spares a hand-off per output. */
    boolean wantsCalls();
}

package dev.carpo.pool.engine;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.kernel.CallbackFuture;

/**
 * A job's future: {@code cancel(true)} removes a queued job, or interrupts the kernel running it.
 * Completed where the pool learns the outcome; the caller's stages run on the completer executor.
 */
final class JobFuture extends CallbackFuture<ExecutionResult> {
    private final Job job;
    private final PoolEngine engine;

    JobFuture(Job job, PoolEngine engine) {
        super(engine.stages);
        this.job = job;
        this.engine = engine;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            engine.dispatcher.cancelled(job, mayInterruptIfRunning);
        }
        return cancelled;
    }
}

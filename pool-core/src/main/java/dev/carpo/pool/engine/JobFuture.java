package dev.carpo.pool.engine;

import dev.carpo.pool.ExecutionResult;
import java.util.concurrent.CompletableFuture;

/** A job's future: {@code cancel(true)} removes a queued job, or interrupts the kernel running it. */
final class JobFuture extends CompletableFuture<ExecutionResult> {
    private final Job job;
    private final PoolEngine engine;

    JobFuture(Job job, PoolEngine engine) {
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

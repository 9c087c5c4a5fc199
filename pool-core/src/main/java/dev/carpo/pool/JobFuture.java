package dev.carpo.pool;

import java.util.concurrent.CompletableFuture;

/**
 * A job's future: {@code cancel(true)} removes a queued job, or interrupts the kernel running it.
 */
final class JobFuture extends CompletableFuture<ExecutionResult> {
    private final Job job;
    private volatile LanguagePool pool;

    JobFuture(Job job) {
        this.job = job;
    }

    void attach(LanguagePool pool) {
        this.pool = pool;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        LanguagePool p = pool;
        if (cancelled && p != null) {
            p.cancelled(job, mayInterruptIfRunning);
        }
        return cancelled;
    }
}

package dev.carpo.pool.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the engine decided under its lock, done once the lock is released (see {@link PoolEngine}):
 * calls into kernels and commons-pool2, meter refreshes, and callers' futures, which complete on
 * the completer executor so that a caller's callback that blocks (say, on another job of the same
 * pool) never stalls the lock, a kernel's callbacks or the pool's timers.
 */
final class Effects {
    private static final Logger LOG = LoggerFactory.getLogger(Effects.class);

    private final Executor completer;
    private final List<Runnable> actions = new ArrayList<>(4);

    Effects(Executor completer) {
        this.completer = completer;
    }

    /** Runs {@code action} after the lock, on the thread that held it. */
    void then(Runnable action) {
        actions.add(action);
    }

    /** Completes a caller's future after the lock, on the completer executor. */
    <T> void complete(CompletableFuture<T> future, T value) {
        deliver(() -> future.complete(value));
    }

    /** Fails a caller's future after the lock, on the completer executor. */
    void fail(CompletableFuture<?> future, Throwable error) {
        deliver(() -> future.completeExceptionally(error));
    }

    /** Runs a completion of a caller's future after the lock, on the completer executor. */
    void deliver(Runnable completion) {
        actions.add(() -> completer.execute(completion));
    }

    /** Runs everything collected, in order; one failing action does not stop the others. */
    void run() {
        for (Runnable action : actions) {
            try {
                action.run();
            } catch (RuntimeException e) {
                LOG.error("pool action failed", e);
            }
        }
        actions.clear();
    }
}

package dev.carpo.pool.engine;

import dev.carpo.pool.kernel.CallbackFuture;
import dev.carpo.pool.protocol.IoLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the engine decided under its lock, done once the lock is released (see {@link PoolEngine}):
 * calls into kernels and commons-pool2, meter refreshes, and callers' futures, whose stages run on
 * the completer executor so that a caller's callback that blocks (say, on another job of the same
 * pool) never stalls the lock, a kernel's callbacks or the pool's timers.
 *
 * <p>A job's outcome is handled on the I/O loop thread that read it, so that the reply, the next
 * job's send and the caller's wake-up cost no thread hand-off. There only the actions marked quick
 * ({@link #thenQuick}: a send, a meter, a future's completion) run; the others (a commons-pool2
 * return or invalidation, a close), which may block, go in order to the completer executor, since
 * the loop thread serves every kernel.
 */
final class Effects {
    private static final Logger LOG = LoggerFactory.getLogger(Effects.class);

    private final Executor completer;
    private final List<Runnable> actions = new ArrayList<>(4);
    /** For each action, whether it is quick (never blocks); parallel to {@link #actions}. */
    private final List<Boolean> quick = new ArrayList<>(4);

    Effects(Executor completer) {
        this.completer = completer;
    }

    /** Runs {@code action} after the lock, on the thread that held it (on the completer, if that is an I/O loop's). */
    void then(Runnable action) {
        actions.add(action);
        quick.add(false);
    }

    /** Runs {@code action}, which never blocks (a send, a meter), after the lock on the thread that held it. */
    void thenQuick(Runnable action) {
        actions.add(action);
        quick.add(true);
    }

    /**
     * Completes a caller's future after the lock: a {@link CallbackFuture} (a job's) on this thread,
     * since its stages run on the completer anyway and a caller blocked on it wakes with no further
     * hand-off; any other on the completer executor.
     */
    <T> void complete(CompletableFuture<T> future, T value) {
        if (future instanceof CallbackFuture<?>) {
            thenQuick(() -> future.complete(value));
        } else {
            deliver(() -> future.complete(value));
        }
    }

    /** Fails a caller's future after the lock, as {@link #complete} completes it. */
    void fail(CompletableFuture<?> future, Throwable error) {
        if (future instanceof CallbackFuture<?>) {
            thenQuick(() -> future.completeExceptionally(error));
        } else {
            deliver(() -> future.completeExceptionally(error));
        }
    }

    /** Runs a completion of a caller's future after the lock, on the completer executor. */
    void deliver(Runnable completion) {
        thenQuick(() -> completer.execute(completion));
    }

    /** The completer as an executor that runs a task on the caller's thread once it is shut down (the pools closed). */
    static Executor orInline(Executor completer) {
        return task -> {
            try {
                completer.execute(task);
            } catch (RejectedExecutionException shutDown) {
                task.run();
            }
        };
    }

    /**
     * Runs everything collected, in order; one failing action does not stop the others. On an I/O
     * loop thread the quick ones run here and the rest, still in their order, on the completer.
     */
    void run() {
        if (actions.isEmpty()) {
            return;
        }
        if (!IoLoop.onLoopThread()) {
            runAll(actions);
        } else {
            List<Runnable> slow = new ArrayList<>(0);
            for (int i = 0; i < actions.size(); i++) {
                if (quick.get(i)) {
                    runOne(actions.get(i));
                } else {
                    slow.add(actions.get(i));
                }
            }
            if (!slow.isEmpty()) {
                orInline(completer).execute(() -> runAll(slow));
            }
        }
        actions.clear();
        quick.clear();
    }

    private static void runAll(List<Runnable> all) {
        for (Runnable action : all) {
            runOne(action);
        }
    }

    private static void runOne(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            LOG.error("pool action failed", e);
        }
    }
}

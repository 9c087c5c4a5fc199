package dev.carpo.pool.kernel;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a shared executor: per-kernel event order
 * without a thread per kernel. Once that executor is shut down, tasks run on the submitting thread.
 */
final class SerialExecutor implements Executor {
    private static final Logger LOG = LoggerFactory.getLogger(SerialExecutor.class);

    private final Executor delegate;
    private final Queue<Runnable> queue = new ArrayDeque<>();
    private boolean running;

    SerialExecutor(Executor delegate) {
        this.delegate = delegate;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (queue) {
            queue.add(task);
            if (running) {
                return;
            }
            running = true;
        }
        try {
            delegate.execute(this::drain);
        } catch (RuntimeException shutDown) {
            // The runtime's callback pool is closed (or failed): run here rather than leave a future uncompleted forever.
            drain();
        }
    }

    /**
     * Runs {@code task} on the calling thread now if nothing is queued or running, and says whether
     * it did: a completion that has no earlier event to wait for needs no hand-off.
     */
    boolean runIfIdle(Runnable task) {
        synchronized (queue) {
            if (running || !queue.isEmpty()) {
                return false;
            }
        }
        task.run();
        return true;
    }

    private void drain() {
        while (true) {
            Runnable task;
            synchronized (queue) {
                task = queue.poll();
                if (task == null) {
                    running = false;
                    return;
                }
            }
            try {
                task.run();
            } catch (Throwable e) {
                // Even an Error from a user's listener must not stop this kernel's later callbacks.
                LOG.warn("kernel callback failed", e);
            }
        }
    }
}

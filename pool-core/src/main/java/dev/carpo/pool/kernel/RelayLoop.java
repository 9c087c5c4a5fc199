package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread ({@value #THREAD_NAME}) that moves the bytes of every {@link IpcRelay} in this
 * JVM, on one NIO {@link Selector}: threads never grow with the number of kernels. It runs while
 * some relay is open and ends with the last one; the next relay starts a new one, as it does if
 * this one died.
 *
 * <p>Failure is per connection: a Throwable handling one key ends that key's connection (its
 * {@link Handler#fail}), never the loop. Should the loop die anyway, every channel it held is
 * closed (their kernels lose their heartbeats and are declared dead) and it is never reused.
 */
final class RelayLoop {
    static final String THREAD_NAME = "carpo-ipc-relay";
    private static final Logger LOG = LoggerFactory.getLogger(RelayLoop.class);
    private static final Object LOCK = new Object();
    /** The live loop, or null. Under LOCK. */
    private static RelayLoop current;

    /** Fault injection for tests: called with a handler's description before the handler runs (loop thread). */
    static volatile Consumer<String> beforeHandle;

    /** What the selector's keys are attached to. Loop thread only. */
    interface Handler {
        /** The key is ready (its readyOps say for what). */
        void ready(SelectionKey key) throws IOException;

        /** Handling the key threw: end what the failure touched, quietly. */
        void fail(Throwable error);
    }

    private final Selector selector;
    private final Thread thread;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>(); // loop thread only
    /** Relays acquired and not yet released. Under LOCK. */
    private int relays;
    private volatile boolean dead;
    private volatile Error crash;

    private record Timer(long due, Runnable task) implements Comparable<Timer> {
        @Override
        public int compareTo(Timer o) {
            return Long.compare(due, o.due);
        }
    }

    private RelayLoop() throws IOException {
        selector = Selector.open();
        thread = new Thread(this::run, THREAD_NAME);
        thread.setDaemon(true);
        thread.start();
    }

    /** The live loop, started if there is none, counted as used by one more relay until {@link #release}. */
    static RelayLoop acquire() throws IOException {
        synchronized (LOCK) {
            if (current == null || current.dead) {
                current = new RelayLoop();
            }
            current.relays++;
            return current;
        }
    }

    /** One relay fewer: the loop ends once none is left and no task waits. */
    void release() {
        synchronized (LOCK) {
            relays--;
        }
        selector.wakeup();
    }

    boolean isDead() {
        return dead;
    }

    Selector selector() {
        return selector;
    }

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code task} on the loop thread; a task that throws is logged and the loop goes on. */
    void execute(Runnable task) {
        tasks.add(task);
        selector.wakeup();
    }

    /**
     * Really closes channels closed on this thread since the last select: NIO defers closing a
     * registered channel's socket until its key is deregistered, so a closed listener would still
     * accept until then. Keys found ready meanwhile are handled on the next round. Loop thread only.
     */
    void flushClosed() {
        try {
            selector.selectNow();
        } catch (IOException | RuntimeException e) {
            LOG.debug("ipc relay: selectNow failed", e);
        }
    }

    /** Runs {@code task} on the loop thread after {@code delayMillis}; loop thread only. */
    void schedule(long delayMillis, Runnable task) {
        timers.add(new Timer(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMillis), task));
    }

    /** Makes the loop thread die with {@code error} outside every per-key guard, as a bug in the loop would. For tests. */
    void crashForTest(Error error) {
        crash = error;
        selector.wakeup();
    }

    private void run() {
        try {
            while (true) {
                runTasks();
                runTimers();
                synchronized (LOCK) {
                    if (relays == 0 && tasks.isEmpty()) {
                        retire(); // under the lock that acquire() takes: no relay can join a loop that is leaving
                        break;
                    }
                }
                Error injected = crash;
                if (injected != null) {
                    throw injected;
                }
                Timer next = timers.peek();
                long waitMillis = next == null ? 0 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(next.due() - System.nanoTime()) + 1);
                selector.select(waitMillis);
                handleSelected();
            }
        } catch (Throwable t) {
            LOG.error("the ipc relay thread died; every sandboxed kernel it served loses its channels, and the next one gets a new thread", t);
        } finally {
            shutDown();
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = tasks.poll()) != null) {
            try {
                task.run();
            } catch (Throwable t) {
                LOG.warn("ipc relay task failed", t);
            }
        }
    }

    private void runTimers() {
        long now = System.nanoTime();
        while (!timers.isEmpty() && timers.peek().due() - now <= 0) {
            try {
                timers.poll().task().run();
            } catch (Throwable t) {
                LOG.warn("ipc relay timer failed", t);
            }
        }
    }

    private void handleSelected() {
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
            SelectionKey key = it.next();
            it.remove();
            Handler handler = (Handler) key.attachment();
            try {
                Consumer<String> hook = beforeHandle;
                if (hook != null) {
                    hook.accept(handler.toString());
                }
                if (key.isValid()) {
                    handler.ready(key);
                }
            } catch (Throwable t) {
                // Even an Error here is this connection's: the other kernels' bytes keep moving. A reset or a closed
                // peer (a kernel exiting) is routine; anything else is worth a warning.
                if (t instanceof IOException) {
                    LOG.debug("ipc relay: {}: {}", handler, t.toString());
                } else {
                    LOG.warn("ipc relay: {} failed; that connection is closed, the client reconnects", handler, t);
                }
                try {
                    handler.fail(t);
                } catch (Throwable again) {
                    LOG.warn("ipc relay: could not close {} after a failure", handler, again);
                }
            }
        }
    }

    /** Under LOCK. */
    private void retire() {
        dead = true;
        if (current == this) {
            current = null;
        }
    }

    private void shutDown() {
        synchronized (LOCK) {
            retire();
        }
        List<SelectionKey> keys;
        try {
            keys = new ArrayList<>(selector.keys());
        } catch (RuntimeException closed) {
            keys = List.of();
        }
        for (SelectionKey key : keys) {
            try {
                key.channel().close();
            } catch (IOException | RuntimeException ignored) {
                // Closing for good; nothing else to do with it.
            }
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // The thread ends either way.
        }
        tasks.clear();
    }
}

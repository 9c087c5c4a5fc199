package dev.carpo.pool.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.Pipe;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * The one thread that owns ZeroMQ sockets. ZeroMQ sockets are not thread-safe, so every socket of
 * every kernel is created, polled, read, written and closed here; other threads hand work in with
 * {@link #execute}, which wakes the selector through a pipe (no poll-and-sleep loop, so no added
 * latency). Timers ({@link #schedule}) drive heartbeats and deadlines on the same thread.
 *
 * <p>One {@link Selector} lives as long as the loop, with each socket's {@code ZMQ_FD} registered
 * once: a wake-up costs work for the sockets that woke, not for every socket of every kernel (as
 * a {@code ZPoller}, which re-registers and queries them all on each poll, does). {@code ZMQ_FD}
 * is edge-triggered and any operation on the socket may consume its signal, so a socket that
 * signalled or was written to is "dirty" and is read while {@code ZMQ_EVENTS} says POLLIN.
 *
 * <p>Handlers run on this thread and must only do bookkeeping: anything that may block or that
 * runs user code belongs on another executor.
 *
 * <p>Example: {@code loop.execute(() -> socket.send(frame));}
 */
public final class IoLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IoLoop.class);
    /**
     * Messages read from one socket before the others get their turn: a kernel flooding megabyte
     * messages (each a few ms to verify and parse) must not hold another kernel's small replies back
     * for long; tiny messages lose nothing, since a socket still dirty is read again at once.
     */
    private static final int READS_PER_ROUND = 8;
    /** Wake-ups in a row with nothing to read before the loop pauses instead of yielding (see {@link #run}). */
    private static final int SPURIOUS_BEFORE_PAUSE = 64;
    private static final long SPURIOUS_PAUSE_NANOS = 20_000;

    private final ZContext context = new ZContext(1);
    private final Selector selector;
    private final Pipe wakeup;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final Map<ZMQ.Socket, Registration> sockets = new IdentityHashMap<>();
    private final ArrayDeque<Registration> dirty = new ArrayDeque<>();
    private final AtomicLong timerSeq = new AtomicLong();
    private final Set<Runnable> stopHooks = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean running = true;
    /** Loop thread: sockets the last select reported, and wake-ups in a row that found nothing on any. */
    private int signalled;
    private int idleWakeups;
    /** Set as the thread exits (closed or crashed): no task runs normally any more. */
    private volatile boolean stopped;
    /** Why the loop died on its own, or null (running, or closed on request). */
    private volatile Throwable failure;

    /** Starts the loop on a daemon thread of the given name. */
    public IoLoop(String name) {
        try {
            selector = Selector.open();
            wakeup = Pipe.open();
            wakeup.source().configureBlocking(false);
            wakeup.source().register(selector, SelectionKey.OP_READ, null);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the I/O loop's selector and wake-up pipe", e);
        }
        // JeroMQ's own I/O thread carries every socket of this loop: if it dies, so does the loop, and its owner starts another.
        context.setUncaughtExceptionHandler((t, e) -> fail(new IllegalStateException("JeroMQ I/O thread " + t.getName() + " died: " + e, e)));
        thread = new LoopThread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Why the loop stopped on its own (an Error on its thread, JeroMQ's thread dying), or null. */
    public Throwable failure() {
        return failure;
    }

    /** Stops the loop as failed: its stop hooks fail what is in flight, and {@link #failure()} says why. */
    void fail(Throwable cause) {
        if (failure == null && running) {
            failure = cause;
            LOG.error("I/O loop {} failed", thread.getName(), cause);
        }
        running = false;
        try {
            wakeup.sink().write(ByteBuffer.wrap(new byte[] {1}));
        } catch (IOException | RuntimeException ignored) {
            // Closed already: the thread is exiting.
        }
    }

    /** Test hook: kills the loop thread with {@code error} thrown outside every handler's guard. */
    public void crashForTest(Error error) {
        execute(() -> crash = error);
    }

    private volatile Error crash;

    /** Whether the calling thread is some I/O loop's: code that may block must not run there. */
    public static boolean onLoopThread() {
        return Thread.currentThread() instanceof LoopThread;
    }

    /** The thread of an I/O loop, recognisable by {@link #onLoopThread()}. */
    private static final class LoopThread extends Thread {
        LoopThread(Runnable body, String name) {
            super(body, name);
        }
    }

    /** Whether the caller is the loop thread. */
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /**
     * Runs {@code task} on the loop thread, soon. Safe from any thread.
     *
     * @throws RejectedExecutionException when the loop has stopped (closed, or failed): the task
     *         will never run, so the caller must fail whatever it was for
     */
    public void execute(Runnable task) {
        tasks.add(task);
        if (stopped) {
            // Added then checked; the exiting thread sets the flag then drains: so either it ran the task, or we take it back.
            if (tasks.remove(task)) {
                throw new RejectedExecutionException("I/O loop " + thread.getName() + " has stopped");
            }
            return;
        }
        if (!inLoop() && wakePending.compareAndSet(false, true)) {
            try {
                wakeup.sink().write(ByteBuffer.wrap(new byte[] {1}));
            } catch (IOException e) {
                if (running) {
                    LOG.warn("I/O loop wake-up failed", e);
                }
            }
        }
    }

    /**
     * Runs {@code task} on the loop thread after {@code delay}; call from the loop thread.
     *
     * @return a handle whose {@code run()} cancels the timer
     */
    public Runnable schedule(Duration delay, Runnable task) {
        requireLoop();
        Timer timer = new Timer(System.nanoTime() + delay.toNanos(), timerSeq.incrementAndGet(), task);
        timers.add(timer);
        // The task (and all it holds: a request, its output) goes at once; the empty shell leaves the heap at its deadline.
        return () -> timer.task = null;
    }

    /**
     * Runs {@code hook} on the loop thread when the loop stops, whether closed or failed, before
     * the tasks still queued run (and before sockets close): owners fail what they have in flight,
     * so nothing waits for a loop that is gone.
     *
     * @return a handle whose {@code run()} removes the hook
     */
    public Runnable onStop(Runnable hook) {
        stopHooks.add(hook);
        if (stopped && stopHooks.remove(hook)) {
            // Added after the exiting thread ran the hooks (or while it does): run it here, so no owner waits on a dead loop.
            hook.run();
        }
        return () -> stopHooks.remove(hook);
    }

    /**
     * Creates a socket, connects it, and calls {@code onReadable} (on this thread) whenever it has
     * messages; call from the loop thread.
     */
    public ZMQ.Socket open(SocketType type, String endpoint, Consumer<ZMQ.Socket> configure, Consumer<ZMQ.Socket> onReadable) {
        requireLoop();
        ZMQ.Socket socket = context.createSocket(type);
        socket.setLinger(0);
        configure.accept(socket);
        socket.connect(endpoint);
        Registration registration = new Registration(socket, onReadable);
        try {
            registration.key = socket.getFD().register(selector, SelectionKey.OP_READ, registration);
        } catch (IOException e) {
            socket.close();
            throw new UncheckedIOException("cannot watch a " + type + " socket for " + endpoint, e);
        }
        sockets.put(socket, registration);
        markDirty(registration);
        return socket;
    }

    /** Unregisters and closes a socket; call from the loop thread. */
    public void close(ZMQ.Socket socket) {
        requireLoop();
        Registration registration = sockets.remove(socket);
        if (registration != null) {
            registration.close();
        }
    }

    /** Reads one multipart message without blocking, or {@code null} when none is waiting. */
    public static List<byte[]> receive(ZMQ.Socket socket) {
        byte[] first = socket.recv(ZMQ.DONTWAIT);
        if (first == null) {
            return null;
        }
        List<byte[]> frames = new ArrayList<>(8);
        frames.add(first);
        while (socket.hasReceiveMore()) {
            frames.add(socket.recv(0));
        }
        return frames;
    }

    /**
     * Sends a multipart message on a socket of this loop without ever blocking; call from the loop
     * thread. Returns false when the socket cannot take it now (no peer left after a refused frame,
     * or its send queue full): the one thread that serves every kernel must never wait on one.
     * A send may consume the socket's read signal, so the socket is checked for input before the next wait.
     */
    public boolean send(ZMQ.Socket socket, List<byte[]> frames) {
        requireLoop();
        boolean sent = true;
        for (int i = 0; i < frames.size() && sent; i++) {
            // ZeroMQ takes a multipart message whole or not at all: only the first frame can be refused.
            sent = socket.send(frames.get(i), ZMQ.DONTWAIT | (i < frames.size() - 1 ? ZMQ.SNDMORE : 0));
        }
        Registration registration = sockets.get(socket);
        if (registration != null) {
            markDirty(registration);
        }
        return sent;
    }

    private void run() {
        try {
            while (running) {
                Error injected = crash;
                if (injected != null) {
                    throw injected;
                }
                runTasks();
                long timeout = runTimers();
                if (!running) {
                    break;
                }
                if (readDirty() == 0 && signalled > 0) {
                    idleWakeups++;
                    // Woken by a socket that had nothing: its writer (JeroMQ's I/O thread) wrote the signal byte but, likely
                    // preempted by this very wake-up, has not yet counted it, so JeroMQ ignores the byte and the descriptor stays
                    // readable. Selecting again at once would spin until the writer is scheduled; giving way lets it finish.
                    if (idleWakeups > SPURIOUS_BEFORE_PAUSE) {
                        java.util.concurrent.locks.LockSupport.parkNanos(SPURIOUS_PAUSE_NANOS);
                    } else {
                        Thread.yield();
                    }
                } else {
                    idleWakeups = 0;
                }
                signalled = 0;
                if (!tasks.isEmpty() || !dirty.isEmpty()) {
                    // Handlers queued work or a socket still has input (left for fairness): do not wait.
                    selector.selectNow();
                } else if (timeout < 0) {
                    selector.select();
                } else {
                    selector.select(timeout);
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    if (key.attachment() instanceof Registration registration) {
                        signalled++;
                        markDirty(registration);
                    } else {
                        drainWakeups();
                    }
                }
                selector.selectedKeys().clear();
            }
        } catch (RuntimeException | Error | IOException e) {
            fail(e);
        } finally {
            stopped = true;
            for (Runnable hook : List.copyOf(stopHooks)) {
                if (!stopHooks.remove(hook)) {
                    continue; // taken (and run) by an onStop that saw the loop stopped
                }
                try {
                    hook.run();
                } catch (RuntimeException | Error e) {
                    LOG.error("I/O loop stop hook failed", e);
                }
            }
            runTasks(); // what was queued before `stopped`: its owners have failed, so it ends at once
            for (Registration registration : new ArrayList<>(sockets.values())) {
                registration.close();
            }
            sockets.clear();
            try {
                selector.close();
            } catch (IOException | ClosedSelectorException e) {
                LOG.debug("I/O loop selector close failed", e);
            }
            context.close();
        }
    }

    /**
     * Reads every dirty socket while ZMQ_EVENTS reports input. A socket is given a bounded number
     * of reads per round, so one kernel streaming output cannot starve the others or the timers.
     */
    private int readDirty() {
        int read = 0;
        for (int n = dirty.size(); n > 0; n--) {
            Registration registration = dirty.poll();
            registration.queued = false;
            for (int reads = 0; !registration.closed && (registration.socket.getEvents() & ZMQ.Poller.POLLIN) != 0; reads++) {
                if (reads == READS_PER_ROUND) {
                    markDirty(registration);
                    break;
                }
                read++;
                try {
                    registration.onReadable.accept(registration.socket);
                } catch (RuntimeException | Error e) {
                    // Handlers guard their own kernel; this is the last line so one socket never ends the loop.
                    LOG.error("I/O loop: socket handler failed", e);
                }
            }
        }
        return read;
    }

    private void markDirty(Registration registration) {
        if (!registration.queued && !registration.closed) {
            registration.queued = true;
            dirty.add(registration);
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = tasks.poll()) != null) {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                LOG.error("I/O loop task failed", e);
            }
        }
    }

    /** Runs due timers; returns milliseconds until the next one (-1 when none). */
    private long runTimers() {
        while (!timers.isEmpty()) {
            Timer next = timers.peek();
            long wait = next.deadline - System.nanoTime();
            Runnable task = next.task;
            if (task == null) {
                timers.poll();
            } else if (wait <= 0) {
                timers.poll();
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    LOG.error("I/O loop timer failed", e);
                }
                runTasks();
            } else {
                return Math.max(1, (wait + 999_999) / 1_000_000);
            }
        }
        return -1;
    }

    private void drainWakeups() {
        ByteBuffer sink = ByteBuffer.allocate(64);
        try {
            while (wakeup.source().read(sink) > 0) {
                sink.clear();
            }
        } catch (IOException e) {
            LOG.warn("I/O loop wake-up pipe read failed", e);
        }
        // Cleared only after the pipe is empty: a writer that saw the flag set has its task queued
        // before this point, so the runTasks() that follows picks it up; a writer after this point
        // writes a fresh byte. Clearing first would let a byte be swallowed with the flag left set.
        wakePending.set(false);
    }

    private void requireLoop() {
        if (!inLoop()) {
            throw new IllegalStateException("ZeroMQ sockets may only be touched on the I/O loop thread, not " + Thread.currentThread().getName());
        }
    }

    /** Stops the loop and closes every socket; waits up to {@code timeout} for the thread to end. */
    public void close(Duration timeout) {
        if (!running) {
            return;
        }
        try {
            execute(() -> running = false);
        } catch (RejectedExecutionException alreadyStopped) {
            // It failed on its own; the rest still applies.
        }
        try {
            thread.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        running = false;
        try {
            wakeup.sink().close();
            wakeup.source().close();
        } catch (IOException ignored) {
            // Nothing more can go through it.
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    /** A socket, its handler, and its key in the selector. */
    private static final class Registration {
        final ZMQ.Socket socket;
        final Consumer<ZMQ.Socket> onReadable;
        SelectionKey key;
        boolean queued;
        boolean closed;

        Registration(ZMQ.Socket socket, Consumer<ZMQ.Socket> onReadable) {
            this.socket = socket;
            this.onReadable = onReadable;
        }

        void close() {
            closed = true;
            key.cancel();
            socket.close();
        }
    }

    private static final class Timer implements Comparable<Timer> {
        final long deadline;
        final long seq;
        volatile Runnable task;

        Timer(long deadline, long seq, Runnable task) {
            this.deadline = deadline;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public int compareTo(Timer o) {
            int c = Long.compare(deadline, o.deadline);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}

package dev.carpo.pool.kernel;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import zmq.Msg;
import zmq.msg.MsgAllocator;

/**
 * Counts what JeroMQ has taken in for one socket and the I/O loop has not read yet, and the same
 * over the whole JVM. ZMQ_MAXMSGSIZE bounds one frame and the high-water mark counts whole
 * messages, so one message of many frames (a job can send its own, with any number of buffers)
 * would otherwise sit whole in JeroMQ's queue. Past either bound the socket is cut, as for a
 * refused frame. JeroMQ allocates every received frame here, on its I/O thread.
 */
final class ReceiveBudget implements MsgAllocator {
    /** What one frame costs beyond its bytes (the Msg, its buffer, the queue entry). */
    private static final int FRAME_OVERHEAD = 64;
    private static final AtomicLong JVM_PENDING = new AtomicLong();
    /** Unread bytes all sockets together may hold: a quarter of the heap, at least 64 MiB. */
    static final long JVM_LIMIT = Math.max(64L << 20, Runtime.getRuntime().maxMemory() / 4);

    private final AtomicLong pending = new AtomicLong();
    private final AtomicBoolean tripped = new AtomicBoolean();
    private final long socketLimit;
    private final Runnable onTrip;
    private volatile boolean released;

    /** @param onTrip called once (on JeroMQ's thread) when a bound is passed; must only hand off */
    ReceiveBudget(long socketLimit, Runnable onTrip) {
        this.socketLimit = socketLimit;
        this.onTrip = onTrip;
    }

    @Override
    public Msg allocate(int size) {
        if (released) {
            return new Msg(size);
        }
        long charge = (long) size + FRAME_OVERHEAD;
        long mine = pending.addAndGet(charge);
        long all = JVM_PENDING.addAndGet(charge);
        if (released) {
            // Raced with release(): whatever release() did not take back, take back now (every interleaving nets zero).
            JVM_PENDING.addAndGet(-pending.getAndSet(0));
        } else if ((mine > socketLimit || all > JVM_LIMIT) && tripped.compareAndSet(false, true)) {
            onTrip.run();
        }
        return new Msg(size);
    }

    /** The loop read these frames. */
    void received(List<byte[]> frames) {
        long charge = 0;
        for (byte[] frame : frames) {
            charge += frame.length + FRAME_OVERHEAD;
        }
        pending.addAndGet(-charge);
        JVM_PENDING.addAndGet(-charge);
    }

    /** The socket is closed: what JeroMQ still held goes with it. */
    void release() {
        released = true;
        JVM_PENDING.addAndGet(-pending.getAndSet(0));
    }

    /** Whether the JVM-wide bound, not this socket's, was the one passed. */
    static boolean jvmFull() {
        return JVM_PENDING.get() > JVM_LIMIT;
    }
}

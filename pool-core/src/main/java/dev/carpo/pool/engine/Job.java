package dev.carpo.pool.engine;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.kernel.InputHandler;
import dev.carpo.pool.kernel.OutputListener;
import java.time.Duration;

/**
 * One submitted piece of code and where it stands ({@link JobState}). Guarded by the engine's lock;
 * its state changes only through the methods here, and {@link #complete}/{@link #fail} are the one
 * way a job ends: once, with its timer cancelled and its future completed after the lock.
 */
final class Job {
    final String code;
    final Duration timeout;
    final OutputListener listener;
    final InputHandler input;
    /** The lease it was submitted on, or null. */
    final Lease lease;
    /** For a broadcast: its position in the pool's setup code; -1 for other jobs. */
    final int setupIndex;
    final long maxOutputBytes;
    final JobFuture future;
    final long submittedNanos = System.nanoTime();
    private JobState state = JobState.QUEUED;
    /** The instance it is placed on or runs on; null while it waits on the pool's queue. */
    Instance instance;
    /** The instance's index when it was sent. */
    int index = -1;
    Duration queueWait = Duration.ZERO;
    /** An interrupt asked for before the kernel began it, sent once it does. */
    boolean interruptPending;
    /** When it times out ({@link System#nanoTime()}), and its place among equal deadlines: set by {@link JobDeadlines}. */
    long deadline;
    long seq;
    private final JobDeadlines deadlines;

    Job(String code, Duration timeout, OutputListener listener, InputHandler input, Lease lease, int setupIndex,
        long maxOutputBytes, PoolEngine engine) {
        this.code = code;
        this.timeout = timeout;
        this.listener = listener;
        this.input = input;
        this.lease = lease;
        this.setupIndex = setupIndex;
        this.maxOutputBytes = maxOutputBytes;
        this.future = new JobFuture(this, engine);
        this.deadlines = engine.deadlines;
    }

    boolean isBroadcast() {
        return setupIndex >= 0;
    }

    JobState state() {
        return state;
    }

    boolean isDone() {
        return state == JobState.DONE;
    }

    /** Its execute_request goes to {@code instance} now. */
    void sent(Instance to, int at) {
        state = JobState.SENT;
        instance = to;
        index = at;
        queueWait = Duration.ofNanos(System.nanoTime() - submittedNanos);
    }

    /** Its kernel has begun it. A job already done stays done. */
    void begun() {
        if (state == JobState.SENT) {
            state = JobState.RUNNING;
        }
    }

    /** Ends it with {@code result}; returns the state it left, or null if it had ended already. */
    JobState complete(ExecutionResult result, Effects effects) {
        JobState was = end();
        if (was != null) {
            effects.complete(future, result);
        }
        return was;
    }

    /** Ends it with {@code error}; returns the state it left, or null if it had ended already. */
    JobState fail(Throwable error, Effects effects) {
        JobState was = end();
        if (was != null) {
            effects.fail(future, error);
        }
        return was;
    }

    /** Ends it without touching its future (already cancelled by the caller); returns the state it left, or null. */
    JobState end() {
        if (state == JobState.DONE) {
            return null;
        }
        JobState was = state;
        state = JobState.DONE;
        deadlines.remove(this);
        return was;
    }
}

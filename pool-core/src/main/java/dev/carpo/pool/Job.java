package dev.carpo.pool;

import dev.carpo.pool.kernel.InputHandler;
import dev.carpo.pool.kernel.OutputListener;
import java.time.Duration;
import java.util.concurrent.Future;

/** One submitted piece of code and where it stands. Guarded by the pool's lock. */
final class Job {
    final String code;
    final Duration timeout;
    final OutputListener listener;
    final InputHandler input;
    final KernelLease lease;
    final boolean setup;
    final JobFuture future = new JobFuture(this);
    final long submittedNanos = System.nanoTime();
    Slot slot;
    /** For a broadcast: its position in the pool's setup code; -1 for other jobs. */
    int setupIndex = -1;
    int index = -1;
    Duration queueWait = Duration.ZERO;
    boolean started;
    /** The kernel has begun running it (its execute_input arrived): only now can a SIGINT reach it. */
    boolean running;
    /** An interrupt asked for before {@link #running}, sent when it is. */
    boolean interruptPending;
    boolean finished;
    Future<?> timer;
    /** Output it keeps at most, or null for the pool's {@link PoolOptions#maxOutputBytes()}. */
    Long maxOutputBytes;

    Job(String code, Duration timeout, OutputListener listener, InputHandler input, KernelLease lease, boolean setup) {
        this.code = code;
        this.timeout = timeout;
        this.listener = listener;
        this.input = input;
        this.lease = lease;
        this.setup = setup;
    }
}

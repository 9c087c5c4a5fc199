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
    boolean finished;
    Future<?> timer;

    Job(String code, Duration timeout, OutputListener listener, InputHandler input, KernelLease lease, boolean setup) {
        this.code = code;
        this.timeout = timeout;
        this.listener = listener;
        this.input = input;
        this.lease = lease;
        this.setup = setup;
    }
}

package dev.carpo.pool;

import dev.carpo.pool.pool.PooledKernel;
import java.util.ArrayDeque;

/** One instance of a pool: its kernel (null while restarting), its queues, its lease. Guarded by the pool's lock. */
final class Slot {
    PooledKernel kernel;
    final ArrayDeque<Job> queue = new ArrayDeque<>();
    final ArrayDeque<Job> leaseQueue = new ArrayDeque<>();
    Job running;
    /** Interrupts sent and not yet through: no next job until they are. */
    int interrupting;
    KernelLease lease;
    boolean retiring;
    boolean restarting;
    boolean busyReported;
    long executions;
    long startRequestedNanos;

    Slot(PooledKernel kernel) {
        this.kernel = kernel;
    }

    boolean usable() {
        return kernel != null && kernel.kernel().isAlive();
    }

    /** Nothing running, nothing waiting, no lease. */
    boolean idle() {
        return running == null && queue.isEmpty() && leaseQueue.isEmpty() && lease == null;
    }

    String stateName() {
        if (kernel == null) {
            return "restarting";
        }
        if (retiring) {
            return "retiring";
        }
        if (lease != null) {
            return "leased";
        }
        return running != null ? "busy" : "idle";
    }
}

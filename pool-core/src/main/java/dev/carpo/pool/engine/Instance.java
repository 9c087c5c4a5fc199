package dev.carpo.pool.engine;

import dev.carpo.pool.InstanceState;
import java.util.ArrayDeque;

/**
 * One instance of a pool: its kernel (none while it is being replaced), the jobs placed on it, its
 * lease, and what it is doing ({@link #state()}). Guarded by the engine's lock; what it is doing
 * changes only through the methods here.
 */
final class Instance {
    /** Jobs placed on this instance (round-robin, targeted, its broadcasts), in order. */
    final ArrayDeque<Job> queue = new ArrayDeque<>();
    /** Jobs submitted on its lease, in order. */
    final ArrayDeque<Job> leaseQueue = new ArrayDeque<>();
    private PooledKernel kernel;
    private Job running;
    /** An interrupt was asked for the job it runs; cleared when the kernel is done with that job. */
    private boolean interruptAsked;
    /** Interrupts sent and not yet through: no next job until they are. */
    private int interruptsInFlight;
    private Lease lease;
    private boolean retiring;
    /** A replacement kernel is being started for it. */
    private boolean replacing;
    private boolean busyReported;
    private long executions;
    /** Why its kernel is to be recycled (LIFETIME, EXECUTIONS) once its successor is ready, or null. */
    private dev.carpo.pool.PoolEvent.Reason due;
    /** A ready kernel waiting to take over from a kernel that is due, once that one is idle. */
    private PooledKernel successor;
    /** It lost its kernel to a death (its next kernel is a restart), not to a discard. */
    private boolean died;

    Instance(PooledKernel kernel) {
        this.kernel = kernel;
    }

    InstanceState state() {
        if (kernel == null) {
            return InstanceState.RESTARTING;
        }
        if (retiring) {
            return InstanceState.RETIRING;
        }
        if (interruptAsked || interruptsInFlight > 0) {
            return InstanceState.INTERRUPTING;
        }
        if (lease != null) {
            return InstanceState.LEASED;
        }
        return running != null ? InstanceState.BUSY : InstanceState.IDLE;
    }

    /** Its kernel, or null while it is being replaced. */
    PooledKernel kernel() {
        return kernel;
    }

    boolean hasKernel() {
        return kernel != null;
    }

    /** It has a kernel, and that kernel is alive. */
    boolean usable() {
        return kernel != null && kernel.kernel().isAlive();
    }

    /** Nothing running, nothing waiting, no lease. */
    boolean idle() {
        return running == null && queue.isEmpty() && leaseQueue.isEmpty() && lease == null;
    }

    /** It can be sent a job now: a live kernel, nothing running, no interrupt still going out. */
    boolean free() {
        return usable() && running == null && interruptsInFlight == 0;
    }

    Job running() {
        return running;
    }

    long executions() {
        return executions;
    }

    int queuedHere() {
        return queue.size() + leaseQueue.size();
    }

    /** {@code job} is sent to its kernel. */
    void start(Job job) {
        // Not free(): the kernel may have died since the pump looked, on its own thread; its death fails the job.
        assert running == null && interruptsInFlight == 0 : "instance busy";
        running = job;
    }

    /** Its kernel is done with {@code job} (a reply or a failure came); false if it ran another one by then. */
    boolean ran(Job job) {
        if (running != job) {
            return false;
        }
        running = null;
        interruptAsked = false;
        executions++;
        return true;
    }

    void interruptAsked() {
        interruptAsked = true;
    }

    void interruptSending() {
        interruptsInFlight++;
    }

    void interruptSent() {
        interruptsInFlight--;
    }

    Lease lease() {
        return lease;
    }

    void grant(Lease granted) {
        lease = granted;
    }

    void endLease() {
        lease = null;
    }

    boolean retiring() {
        return retiring;
    }

    void retire() {
        retiring = true;
    }

    void keep() {
        retiring = false;
    }

    boolean replacing() {
        return replacing;
    }

    /** Its kernel died: returns the job it was running (now no longer running), or null. */
    Job lost() {
        died = true;
        return dropKernel();
    }

    /** Its kernel was discarded by the pool (a fresh-leases kernel after use); nothing was running. */
    void discarded() {
        died = false;
        dropKernel();
    }

    private Job dropKernel() {
        kernel = null;
        due = null;
        busyReported = false;
        interruptAsked = false;
        Job was = running;
        running = null;
        return was;
    }

    /** A replacement kernel is being started for it. */
    void replacing(boolean starting) {
        replacing = starting;
    }

    /** The replacement arrived; true if it replaces a kernel that died (a restart). */
    boolean replaced(PooledKernel replacement) {
        assert kernel == null : "instance still has a kernel";
        kernel = replacement;
        return died;
    }

    dev.carpo.pool.PoolEvent.Reason due() {
        return due;
    }

    void due(dev.carpo.pool.PoolEvent.Reason reason) {
        due = reason;
    }

    /** It may take jobs other than its lease's: not a kernel that has run its {@code maxExecutions}. */
    boolean takesJobs() {
        return due != dev.carpo.pool.PoolEvent.Reason.EXECUTIONS;
    }

    PooledKernel successor() {
        return successor;
    }

    void successor(PooledKernel next) {
        successor = next;
    }

    /** The successor takes over; returns the kernel it replaces. Only when nothing runs and no lease holds it. */
    PooledKernel handOver() {
        assert successor != null && running == null && lease == null && interruptsInFlight == 0 : "instance not ready to hand over";
        PooledKernel old = kernel;
        kernel = successor;
        successor = null;
        due = null;
        busyReported = false;
        return old;
    }

    /** True once when it turns busy (or leased): the BUSY event is due. */
    boolean reportBusy() {
        boolean due = !busyReported;
        busyReported = true;
        return due;
    }

    /** True once when it turns idle again after {@link #reportBusy}: the IDLE event is due. */
    boolean reportIdle() {
        boolean due = busyReported;
        busyReported = false;
        return due;
    }
}

package dev.carpo.pool.engine;

import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelExecution;
import java.time.Duration;
import java.util.List;

/**
 * A kernel as commons-pool2 holds it, with how much of its pool's setup code (init code and
 * broadcasts, in order) it has run. The count is read and written under the owning pool's lock.
 */
final class PooledKernel {
    private final Kernel kernel;
    private List<KernelExecution> startSetup;
    private int setupApplied;
    private boolean used;
    private long joinedNanos;
    private final long bornNanos = System.nanoTime();
    /** When it reaches the pool's maxLifetime (System.nanoTime()), set when it first joins; 0 for none. */
    private long deadlineNanos;
    /** Jobs (not setup code) sent to it. */
    private long executions;
    /** Why the pool killed it, if it did (interrupt_failed), to name its death. */
    private volatile dev.carpo.pool.PoolEvent.Reason killedFor;

    PooledKernel(Kernel kernel, List<KernelExecution> startSetup) {
        this.kernel = kernel;
        this.startSetup = List.copyOf(startSetup);
        this.setupApplied = startSetup.size();
    }

    Kernel kernel() {
        return kernel;
    }

    /** What entry i of the pool's setup code gave when this kernel ran it at start, for i below the count run then. */
    KernelExecution startSetup(int i) {
        return startSetup.get(i);
    }

    /** How many entries of the pool's setup code this kernel ran at start. */
    int startSetupCount() {
        return startSetup.size();
    }

    /** Drops the start-time results (and the output they hold) once the pool has answered from them. */
    void releaseStartSetup() {
        startSetup = List.of();
    }

    /** How many entries of the pool's setup code this kernel has run or has queued. */
    int setupApplied() {
        return setupApplied;
    }

    void setupApplied(int count) {
        this.setupApplied = count;
    }

    /** When the pool last took this kernel into service (System.nanoTime()). */
    long joinedNanos() {
        return joinedNanos;
    }

    void joinedNanos(long nanos) {
        this.joinedNanos = nanos;
    }

    /** True the first time the pool takes this kernel into service, false after (a warm kernel coming back). */
    boolean firstUse() {
        boolean first = !used;
        used = true;
        return first;
    }

    private Duration startup = Duration.ZERO;

    /** How long its start took (launch, ready, init code), as the pool measured it. */
    Duration startup() {
        return startup;
    }

    void startup(Duration d) {
        startup = d;
    }

    private java.util.concurrent.Future<?> lifetime;
    private java.util.concurrent.Future<?> timer;

    /** The timer that marks it due at its maxLifetime; replaces (and cancels) an earlier one. */
    void lifetime(java.util.concurrent.Future<?> t) {
        cancel(lifetime);
        lifetime = t;
    }

    /** The check that its start succeeded (it outlived EARLY_DEATH); replaces (and cancels) an earlier one. */
    void timer(java.util.concurrent.Future<?> t) {
        cancel(timer);
        timer = t;
    }

    /** Its timers, cancelled when it leaves the pool: a pool of short-lived kernels must not keep them (or it) alive. */
    void cancelTimers() {
        cancel(lifetime);
        cancel(timer);
    }

    private static void cancel(java.util.concurrent.Future<?> t) {
        if (t != null) {
            t.cancel(false);
        }
    }

    long bornNanos() {
        return bornNanos;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    void deadlineNanos(long nanos) {
        deadlineNanos = nanos;
    }

    long executions() {
        return executions;
    }

    /** A job goes to it; returns how many it has been sent. */
    long sent() {
        return ++executions;
    }

    private boolean leased;

    /** It has been leased (on a fresh-leases pool, that alone makes it used: its tenant had it). */
    void leased() {
        leased = true;
    }

    /** It has run code other than the pool's setup code, or been leased. */
    boolean used() {
        return executions > 0 || leased;
    }

    dev.carpo.pool.PoolEvent.Reason killedFor() {
        return killedFor;
    }

    void killedFor(dev.carpo.pool.PoolEvent.Reason reason) {
        killedFor = reason;
    }

    @Override
    public String toString() {
        return kernel.toString();
    }
}

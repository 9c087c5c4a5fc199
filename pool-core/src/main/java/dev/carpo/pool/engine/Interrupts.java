package dev.carpo.pool.engine;

import dev.carpo.pool.PoolState;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Interrupting the kernel that runs a job that timed out, was cancelled or flooded. An interrupt
 * must reach the cell it means: ipykernel ignores SIGINT before it begins a cell, and the built-in
 * kernels drop an interrupt with no cell running, so one sent before the kernel has begun the job
 * is held until its execute_input arrives. Until this pool's kernels have shown they publish
 * execute_input, it also goes out after {@link #FALLBACK}, for kernels that never do. If the kernel
 * is still on the job after the interrupt grace, it is killed and the pool replaces it (its death
 * is handled like any other). The instance takes no next job until the interrupt has gone out.
 */
final class Interrupts {
    private static final Logger LOG = LoggerFactory.getLogger(Interrupts.class);
    /** How long an interrupt waits for a kernel that never reports execute_input to begin the job. */
    private static final Duration FALLBACK = Duration.ofSeconds(1);

    private final PoolEngine engine;
    /** This pool's kernels publish execute_input (one has been seen), so a held interrupt needs no fallback. Under the lock. */
    private boolean executeInputSeen;

    Interrupts(PoolEngine engine) {
        this.engine = engine;
    }

    /** Interrupts the kernel running {@code job}, which it has {@code begun} or not yet. Under the lock. */
    void interrupt(Job job, boolean begun, Effects effects) {
        assert engine.held();
        Instance s = job.instance;
        PooledKernel pk = s.kernel();
        if (pk == null) {
            return;
        }
        if (s.running() == job) {
            s.interruptAsked();
        }
        if (begun) {
            effects.then(() -> send(s, job, pk));
        } else {
            job.interruptPending = true;
            if (!executeInputSeen) {
                long fallback = Math.min(FALLBACK.toNanos(), engine.options.interruptGrace().toNanos() / 2);
                engine.scheduler.schedule(() -> sendPending(s, job), fallback, TimeUnit.NANOSECONDS);
            }
        }
        engine.scheduler.schedule(() -> killIfStuck(s, job, pk), engine.options.interruptGrace().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void killIfStuck(Instance s, Job job, PooledKernel pk) {
        boolean stuck;
        synchronized (engine.lock) {
            stuck = s.running() == job && s.kernel() == pk && engine.state != PoolState.CLOSED;
        }
        if (stuck) {
            LOG.warn("pool '{}' instance {}: kernel {} did not return to idle {} ms after an interrupt; replacing it",
                    engine.language, job.index, pk.kernel().id(), engine.options.interruptGrace().toMillis());
            pk.killedFor(dev.carpo.pool.PoolEvent.Reason.INTERRUPT_FAILED);
            pk.kernel().kill();
        }
    }

    /**
     * The kernel has begun {@code job} (its execute_input arrived): an interrupt held for it goes
     * out. Called on the I/O loop thread as the message is read; nothing here blocks.
     */
    void begun(Job job) {
        synchronized (engine.lock) {
            job.begun();
            executeInputSeen = true;
        }
        sendPending(job.instance, job);
    }

    private void sendPending(Instance s, Job job) {
        PooledKernel pk;
        synchronized (engine.lock) {
            if (!job.interruptPending) {
                return;
            }
            job.interruptPending = false;
            pk = s.kernel();
        }
        if (pk != null) {
            send(s, job, pk);
        }
    }

    /**
     * Sends the interrupt if the kernel is still on {@code job}. The instance takes no next job
     * until it has gone out (kill returned, interrupt_reply or the gateway's answer came): one that
     * lands late would otherwise stop the next caller's job.
     */
    private void send(Instance s, Job job, PooledKernel pk) {
        synchronized (engine.lock) {
            if (s.running() != job || s.kernel() != pk) {
                return;
            }
            s.interruptSending();
        }
        pk.kernel().interrupt().orTimeout(engine.options.interruptGrace().toNanos(), TimeUnit.NANOSECONDS)
                .whenComplete((r, e) -> engine.locked(effects -> {
                    s.interruptSent();
                    engine.dispatcher.pump(effects);
                }));
    }
}

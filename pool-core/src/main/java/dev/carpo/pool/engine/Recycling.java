package dev.carpo.pool.engine;

import dev.carpo.pool.PoolEvent;
import dev.carpo.pool.PoolEvent.Reason;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Kernels that must not serve for ever, and kernels that must serve one tenant only.
 *
 * <p><b>Recycling</b> ({@code maxLifetime}, {@code maxExecutions}). A kernel past its lifetime, or
 * sent its last job, is <em>due</em>: {@link KernelSupply#reconcile} starts a successor for its
 * instance while it goes on serving (a kernel that has run its last job takes no other, except on a
 * lease that holds it). Once the successor is ready and the old kernel is idle (nothing running, no
 * lease) the successor takes over the instance, and the old kernel is retired. So a recycle never
 * cuts a job or a lease short, and never takes the pool below its size. Each kernel's lifetime is
 * shortened by up to 1/40, at random (HikariCP's variance), so kernels started together are not all
 * recycled together.
 *
 * <p><b>Fresh leases</b>. On a {@code freshLeases} pool a kernel that has run a job (on a lease, or
 * an ordinary one) is discarded as soon as it is free, and its instance gets a new kernel; setup code
 * (init, broadcasts) does not count as use. Every method runs under the engine's lock.
 */
final class Recycling {
    private final PoolEngine engine;

    Recycling(PoolEngine engine) {
        this.engine = engine;
    }

    /** {@code pk} has joined instance {@code s}: its lifetime clock runs from its start. Under the lock. */
    void joined(Instance s, PooledKernel pk) {
        assert engine.held();
        long maxJobs = engine.options.maxExecutions();
        if (maxJobs > 0 && pk.executions() >= maxJobs) {
            due(s, Reason.EXECUTIONS); // a warm kernel back from commons-pool2 with no jobs left
        }
        Duration max = engine.options.maxLifetime();
        if (max == null) {
            return;
        }
        if (pk.deadlineNanos() == 0) {
            long life = max.toNanos();
            long variance = life / 40;
            pk.deadlineNanos(pk.bornNanos() + life - (variance > 0 ? ThreadLocalRandom.current().nextLong(variance) : 0));
        }
        long in = pk.deadlineNanos() - System.nanoTime();
        if (in <= 0) {
            due(s, Reason.LIFETIME);
            return;
        }
        // Cancelled when the kernel goes (KernelSupply.invalidate): fresh leases make many short-lived kernels.
        pk.lifetime(engine.scheduler.schedule(() -> engine.locked(effects -> {
            if (s.kernel() == pk && s.due() == null && engine.instances.contains(s)) {
                due(s, Reason.LIFETIME);
                engine.dispatcher.pump(effects);
            }
        }), in, TimeUnit.NANOSECONDS));
    }

    /** A job (not setup code) is sent to {@code s}'s kernel. Under the lock. */
    void sent(Instance s) {
        assert engine.held();
        long n = s.kernel().sent();
        long max = engine.options.maxExecutions();
        if (max > 0 && n >= max) {
            due(s, Reason.EXECUTIONS);
        }
    }

    private void due(Instance s, Reason reason) {
        if (s.due() != Reason.EXECUTIONS) {
            s.due(reason);
        }
        engine.supply.updateBounds();
    }

    /**
     * Hands {@code s} over to its successor if its kernel is due, the successor is ready and alive, and
     * the old kernel is idle; returns true if it did. Under the lock.
     */
    boolean handOverIfReady(Instance s, Effects effects) {
        assert engine.held();
        PooledKernel next = s.successor();
        if (next == null || s.lease() != null || !s.free() || s.retiring()) {
            return false; // (a retiring instance goes with its successor: no hand-over to a kernel about to be retired)
        }
        if (!next.kernel().isAlive()) {
            engine.supply.successorDied(s, next, next.kernel().onDeath().getNow(null), effects);
            return false;
        }
        Reason why = s.due();
        handOver(s, next, why, detail(why), "took over from a kernel retired for " + why.label(), effects);
        return true;
    }

    /** {@code next} takes {@code s} over from its kernel, which is retired for {@code why}. Under the lock. */
    private void handOver(Instance s, PooledKernel next, Reason why, String detail, String readyDetail, Effects effects) {
        int index = engine.instances.indexOf(s);
        PooledKernel old = s.handOver();
        engine.supply.retired(index, old, why, detail, effects);
        engine.supply.tookOver(s, next, PoolEvent.Type.READY, readyDetail, effects);
        engine.supply.updateBounds();
    }

    /**
     * On a fresh-leases pool, discards {@code s}'s kernel if it has been used and is free; its instance
     * waits for a new one, or goes if the pool is above its floor. Returns true if it did. Under the lock.
     */
    boolean discardIfUsed(Instance s, Effects effects) {
        assert engine.held();
        if (!engine.options.freshLeases() || !s.hasKernel() || !s.kernel().used() || s.lease() != null || !s.free()) {
            return false;
        }
        PooledKernel next = s.successor();
        if (next != null && next.kernel().isAlive()) {
            // A successor was ready anyway (maxLifetime): it is as fresh as a new start.
            handOver(s, next, Reason.LEASE_END, "", "replaces a used kernel", effects);
            return true;
        }
        if (next != null) {
            engine.supply.successorDied(s, next, next.kernel().onDeath().getNow(null), effects);
        }
        engine.supply.retired(engine.instances.indexOf(s), s.kernel(), Reason.LEASE_END, "", effects);
        s.discarded();
        engine.supply.dropIfUnneeded(s, effects);
        engine.supply.updateBounds();
        return true;
    }

    /** The short detail of a retirement, as progress lines show it: {@code lifetime 30m}, {@code executions 5}. */
    String detail(Reason reason) {
        return switch (reason) {
            case LIFETIME -> describe(engine.options.maxLifetime());
            case EXECUTIONS -> Long.toString(engine.options.maxExecutions());
            default -> "";
        };
    }

    /** A duration as people write it: {@code 250ms}, {@code 2.5s}, {@code 30m}, {@code 1h30m}. */
    static String describe(Duration d) {
        long ms = d.toMillis();
        if (ms < 1000) {
            return ms + "ms";
        }
        if (ms < 60_000 && ms % 1000 != 0) {
            return String.format(java.util.Locale.ROOT, "%.1fs", ms / 1000.0);
        }
        long s = d.toSeconds();
        StringBuilder sb = new StringBuilder();
        if (s >= 3600) {
            sb.append(s / 3600).append('h');
        }
        if (s % 3600 >= 60) {
            sb.append(s % 3600 / 60).append('m');
        }
        if (s % 60 != 0) {
            sb.append(s % 60).append('s');
        }
        return sb.toString();
    }
}

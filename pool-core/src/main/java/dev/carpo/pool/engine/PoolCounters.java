package dev.carpo.pool.engine;

import dev.carpo.pool.Dispatch;
import dev.carpo.pool.PoolState;
import dev.carpo.pool.PoolStats;
import dev.carpo.pool.kernel.ReplyStatus;
import java.util.List;

/**
 * What one pool has counted since it was created, for {@link PoolStats} and the meters. Guarded
 * by the engine's lock; {@link #copy()} takes a consistent snapshot to turn into stats outside it.
 */
final class PoolCounters {
    long submitted;
    long ok;
    long errors;
    long aborted;
    long timeouts;
    long cancelled;
    long rejected;
    long kernelDied;
    long kernelsStarted;
    long startFailures;
    long restarts;
    long deaths;
    long retired;
    long outputLimited;
    long memoryLimited;
    long leasesLeaked;
    /** Kernels gone, by reason; {@link #retired} and {@link #deaths} are its two sums. */
    private final java.util.EnumMap<dev.carpo.pool.PoolEvent.Reason, Long> reasons = new java.util.EnumMap<>(dev.carpo.pool.PoolEvent.Reason.class);

    /** A kernel left the pool for {@code reason}. */
    void ended(dev.carpo.pool.PoolEvent.Reason reason) {
        reasons.merge(reason, 1L, Long::sum);
        if (reason.isDeath()) {
            deaths++;
        } else {
            retired++;
        }
    }

    /** A job's code ran to a reply with this status. */
    void executed(ReplyStatus status) {
        switch (status) {
            case OK -> ok++;
            case ERROR -> errors++;
            case ABORTED -> aborted++;
        }
    }

    PoolCounters copy() {
        PoolCounters c = new PoolCounters();
        c.submitted = submitted;
        c.ok = ok;
        c.errors = errors;
        c.aborted = aborted;
        c.timeouts = timeouts;
        c.cancelled = cancelled;
        c.rejected = rejected;
        c.kernelDied = kernelDied;
        c.kernelsStarted = kernelsStarted;
        c.startFailures = startFailures;
        c.restarts = restarts;
        c.deaths = deaths;
        c.retired = retired;
        c.outputLimited = outputLimited;
        c.memoryLimited = memoryLimited;
        c.leasesLeaked = leasesLeaked;
        c.reasons.putAll(reasons);
        return c;
    }

    /** How many instances and kernels are in each condition, as the snapshot saw them. */
    record Sizes(int size, int idle, int busy, int leased, int starting, int queued, int min, int max) {
    }

    /** The one place {@link PoolStats} is built. */
    PoolStats stats(String language, PoolState state, Dispatch strategy, Sizes n, String failure,
                    List<PoolStats.Instance> instances) {
        return new PoolStats(language, state, strategy, n.size(), n.idle(), n.busy(), n.leased(), n.starting(),
                n.queued(), n.min(), n.max(), submitted, ok, errors, aborted, timeouts, cancelled, rejected,
                kernelDied, kernelsStarted, startFailures, restarts, deaths, retired, outputLimited, memoryLimited,
                leasesLeaked, reasons, failure, instances);
    }
}

package dev.carpo.pool.engine;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lease leak detection, as HikariCP's {@code leakDetectionThreshold}: a lease still held after the
 * threshold is logged once at WARN, with the stack of the code that asked for it (captured when it
 * asked, in its own thread), and counted; if it is released later, that is logged too. The stack is
 * only captured when the pool has a threshold, so other pools pay nothing.
 */
final class LeaseLeaks {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseLeaks.class);

    private final PoolEngine engine;
    private final Duration threshold;

    LeaseLeaks(PoolEngine engine) {
        this.engine = engine;
        this.threshold = engine.options.leakDetectionThreshold();
    }

    /** Where a lease is being asked for, or null when leaks are not detected. In the caller's thread. */
    Throwable origin() {
        return threshold == null ? null
                : new Exception("lease on pool '" + engine.language + "' taken here, by thread " + Thread.currentThread().getName());
    }

    /** {@code lease} was granted: its check is due after the threshold. Under the lock. */
    void granted(Lease lease) {
        assert engine.held();
        if (threshold != null) {
            lease.leakTimer = engine.scheduler.schedule(() -> check(lease), threshold.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void check(Lease lease) {
        boolean leaked;
        synchronized (engine.lock) {
            leaked = !lease.released() && engine.state != dev.carpo.pool.PoolState.CLOSED;
            if (leaked) {
                lease.leaked = true;
                engine.counters.leasesLeaked++;
            }
        }
        if (leaked) {
            LOG.warn("pool '{}' instance {}: a lease has been held for more than {} ms (leakDetectionThreshold), a possible leak;"
                    + " it was taken by the code in this stack:", engine.language, lease.index(), threshold.toMillis(), lease.origin);
        }
    }

    /** {@code lease} was given back. Under the lock. */
    void released(Lease lease, Effects effects) {
        assert engine.held();
        PoolEngine.cancelTimer(lease.leakTimer);
        if (lease.leaked) {
            lease.leaked = false;
            long heldMs = (System.nanoTime() - lease.grantedNanos) / 1_000_000;
            effects.then(() -> LOG.info("pool '{}' instance {}: the lease reported as a possible leak was released after {} ms",
                    engine.language, lease.index(), heldMs));
        }
    }
}

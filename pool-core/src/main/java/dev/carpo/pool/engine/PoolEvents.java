package dev.carpo.pool.engine;

import dev.carpo.pool.PoolEvent;
import dev.carpo.pool.PoolListener;
import dev.carpo.pool.kernel.Kernel;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pool's lifecycle events, delivered in order on the events executor (one thread for every pool,
 * never the caller's, the I/O loop's or the lock holder's) to the pool's listeners, then to those
 * of its {@code KernelPools}. A listener that throws is logged and skipped.
 */
final class PoolEvents {
    private static final Logger LOG = LoggerFactory.getLogger(PoolEvents.class);

    private final String language;
    private final Executor events;
    private final List<PoolListener> shared;
    private final List<PoolListener> own = new CopyOnWriteArrayList<>();

    PoolEvents(String language, Executor events, List<PoolListener> shared) {
        this.language = language;
        this.events = events;
        this.shared = shared;
    }

    void add(PoolListener listener) {
        own.add(Objects.requireNonNull(listener, "listener"));
    }

    void remove(PoolListener listener) {
        own.remove(listener);
    }

    /** Queues one event; safe under the engine's lock (it only hands the event to the executor). */
    void emit(PoolEvent.Type type, int index, Kernel kernel, Duration elapsed, String detail) {
        emit(type, index, kernel, elapsed, detail, null);
    }

    /** As {@link #emit(PoolEvent.Type, int, Kernel, Duration, String)}, for a RETIRED or DEAD event with its reason. */
    void emit(PoolEvent.Type type, int index, Kernel kernel, Duration elapsed, String detail, PoolEvent.Reason reason) {
        if (own.isEmpty() && shared.isEmpty()) {
            return; // no one to tell: a BUSY and an IDLE per job would each wake the events thread for nothing
        }
        PoolEvent event = new PoolEvent(type, language, index, kernel.id(), kernel.pid(), elapsed,
                detail == null ? "" : detail, reason, Instant.now());
        events.execute(() -> {
            own.forEach(l -> deliver(l, event));
            shared.forEach(l -> deliver(l, event));
        });
    }

    private static void deliver(PoolListener listener, PoolEvent event) {
        try {
            listener.onEvent(event);
        } catch (RuntimeException e) {
            LOG.warn("pool listener failed on {}", event, e);
        }
    }
}

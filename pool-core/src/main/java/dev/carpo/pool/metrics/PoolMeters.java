package dev.carpo.pool.metrics;

import dev.carpo.pool.InstanceState;
import dev.carpo.pool.PoolEvent;
import dev.carpo.pool.PoolState;
import dev.carpo.pool.PoolStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.apache.commons.pool2.impl.GenericObjectPool;

/**
 * One pool's Micrometer meters, named {@code carpo.<thing>.<measure>} with tags {@code language},
 * {@code pool} and {@code location} ({@code local} or the gateway's {@code host:port}), as HikariCP's MicrometerMetricsTracker does for connections. Gauges and
 * function counters read the pool when scraped; the three timers are recorded as work happens.
 * {@link #close()} removes every meter, so a closed pool is neither kept alive nor reported.
 * The README lists every meter.
 */
public final class PoolMeters {
    /** Records nothing: the pool has no registry. */
    public static final PoolMeters NONE = new PoolMeters();

    /** What the meters read from their pool when scraped. */
    public interface Source {
        /** The pool's stats without /proc reads. */
        PoolStats snapshot();

        /** One instance's kernel's memory and CPU now. */
        ProcessUsage usage(int instance);

        /** Incoming messages dropped for a bad signature or framing, over every kernel the pool started. */
        long rejectedMessages();
    }

    private final MeterRegistry registry;
    private final Tags tags;
    private final List<Meter> meters = new ArrayList<>();
    private final Timer executionDuration;
    private final Timer queueWait;
    private final Timer kernelStartup;
    private final MultiGauge memory;
    private final MultiGauge cpu;
    private int instanceRows = -1;
    private boolean closed;

    private PoolMeters() {
        registry = null;
        tags = Tags.empty();
        pool = null;
        executionDuration = null;
        queueWait = null;
        kernelStartup = null;
        memory = null;
        cpu = null;
    }

    private final Source pool;

    /** One tag value of a meter, and what it counts. */
    private record Tagged(String tag, ToDoubleFunction<PoolStats> count) {
    }

    /** The {@code state} tags of {@code carpo.kernels} (busy includes leased). */
    private static final List<Tagged> KERNELS_BY_STATE = List.of(
            new Tagged("starting", PoolStats::starting),
            new Tagged("idle", PoolStats::idle),
            new Tagged("busy", s -> s.busy() + s.leased()),
            new Tagged("dead", s -> s.instances().stream().filter(i -> i.state() == InstanceState.RESTARTING).count()));

    /** The {@code outcome} tags of {@code carpo.executions}. */
    private static final List<Tagged> EXECUTIONS_BY_OUTCOME = List.of(
            new Tagged("ok", PoolStats::ok),
            new Tagged("error", PoolStats::errors),
            new Tagged("aborted", PoolStats::aborted),
            new Tagged("timeout", PoolStats::timeouts),
            new Tagged("cancelled", PoolStats::cancelled),
            new Tagged("kernel_died", PoolStats::kernelDied),
            new Tagged("memory_limit", PoolStats::memoryLimited),
            new Tagged("output_limit", PoolStats::outputLimited),
            new Tagged("rejected", PoolStats::rejected));

    /**
     * @param tags {@code language}, {@code pool} and {@code location}
     * @param objectPool the pool's commons-pool2 pool, for its own counts
     */
    public PoolMeters(MeterRegistry registry, Tags tags, Source pool, GenericObjectPool<?> objectPool) {
        this.registry = registry;
        this.tags = tags;
        this.pool = pool;
        for (Tagged t : KERNELS_BY_STATE) {
            gauge("carpo.kernels", pool, p -> t.count().applyAsDouble(p.snapshot()), null,
                    "Kernels of the pool by state (dead: instances whose kernel died and is not yet replaced)", Tags.of("state", t.tag()));
        }
        gauge("carpo.pool.target", pool, p -> p.snapshot().min(), null, "Instances the pool keeps ready (its floor, set by min or scale)", Tags.empty());
        gauge("carpo.pool.min", pool, p -> p.snapshot().min(), null, "The pool's minimum size", Tags.empty());
        gauge("carpo.pool.max", pool, p -> p.snapshot().max(), null, "The pool's maximum size", Tags.empty());
        gauge("carpo.queue.size", pool, p -> p.snapshot().queued(), null, "Jobs waiting to run", Tags.empty());
        gauge("carpo.leases.open", pool, p -> p.snapshot().leased(), null, "Instances under a lease", Tags.empty());
        gauge("carpo.pool.circuit.open", pool, p -> p.snapshot().state() == PoolState.FAILED ? 1 : 0, null,
                "1 while the circuit is open (kernels fail to start; submissions fail at once), else 0", Tags.empty());

        for (Tagged t : EXECUTIONS_BY_OUTCOME) {
            counter("carpo.executions", pool, p -> t.count().applyAsDouble(p.snapshot()), "Jobs finished, by outcome",
                    Tags.of("outcome", t.tag()));
        }
        counter("carpo.kernel.starts", pool, p -> p.snapshot().kernelsStarted(), "Kernels started and ready", Tags.empty());
        counter("carpo.kernel.start.failures", pool, p -> p.snapshot().startFailures(), "Kernel starts that failed", Tags.empty());
        counter("carpo.kernel.restarts", pool, p -> p.snapshot().restarts(), "Instances whose dead kernel was replaced", Tags.empty());
        for (PoolEvent.Reason r : PoolEvent.Reason.values()) {
            if (r.isDeath()) {
                counter("carpo.kernel.deaths", pool, p -> p.snapshot().reason(r), "Kernels that died while serving the pool, by reason",
                        Tags.of("reason", r.label()));
            } else {
                counter("carpo.kernel.retirements", pool, p -> p.snapshot().reason(r), "Kernels the pool retired, by reason",
                        Tags.of("reason", r.label()));
            }
        }
        counter("carpo.leases.leaked", pool, p -> p.snapshot().leasesLeaked(),
                "Leases held longer than leakDetectionThreshold (each logged once with the stack that took it)", Tags.empty());
        counter("carpo.kernel.evictions", objectPool, GenericObjectPool::getDestroyedByEvictorCount,
                "Idle kernels ended by the evictor after idleTimeout", Tags.empty());
        counter("carpo.messages.rejected", pool, Source::rejectedMessages,
                "Incoming kernel messages dropped for a bad signature or bad framing", Tags.empty());

        counter("carpo.objectpool.creations", objectPool, GenericObjectPool::getCreatedCount, "commons-pool2: kernels created", Tags.empty());
        counter("carpo.objectpool.destructions", objectPool, GenericObjectPool::getDestroyedCount, "commons-pool2: kernels destroyed", Tags.empty());
        counter("carpo.objectpool.borrows", objectPool, GenericObjectPool::getBorrowedCount, "commons-pool2: kernels borrowed by the dispatcher", Tags.empty());
        meters.add(TimeGauge.builder("carpo.objectpool.borrow.wait.mean", objectPool, TimeUnit.MILLISECONDS,
                        p -> p.getMeanBorrowWaitDuration().toNanos() / 1e6)
                .tags(tags).description("commons-pool2: mean time a borrow waited (includes kernel start-up)").register(registry));
        meters.add(TimeGauge.builder("carpo.objectpool.borrow.wait.max", objectPool, TimeUnit.MILLISECONDS,
                        p -> p.getMaxBorrowWaitDuration().toNanos() / 1e6)
                .tags(tags).description("commons-pool2: longest time a borrow waited (includes kernel start-up)").register(registry));

        executionDuration = timer("carpo.execution.duration", "Kernel time per job, from busy to complete");
        queueWait = timer("carpo.queue.wait", "Time from submission until a job was sent to its kernel");
        kernelStartup = timer("carpo.kernel.startup", "Time for a new kernel to start, become ready and run its init code");

        memory = MultiGauge.builder("carpo.kernel.memory").baseUnit("bytes").tags(tags)
                .description("Resident memory of each instance's kernel process, from /proc").register(registry);
        cpu = MultiGauge.builder("carpo.kernel.cpu").baseUnit("seconds").tags(tags)
                .description("CPU time (user + system) of each instance's kernel process, from /proc").register(registry);
    }

    private <T> void gauge(String name, T obj, ToDoubleFunction<T> f, String unit, String description, Tags extra) {
        meters.add(Gauge.builder(name, obj, f).tags(tags.and(extra)).baseUnit(unit).description(description).register(registry));
    }

    private <T> void counter(String name, T obj, ToDoubleFunction<T> f, String description, Tags extra) {
        meters.add(FunctionCounter.builder(name, obj, f).tags(tags.and(extra)).description(description).register(registry));
    }

    private Timer timer(String name, String description) {
        Timer t = Timer.builder(name).tags(tags).description(description)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
        meters.add(t);
        return t;
    }

    public void executed(Duration runTime) {
        if (registry != null) {
            executionDuration.record(runTime);
        }
    }

    public void waited(Duration wait) {
        if (registry != null) {
            queueWait.record(wait);
        }
    }

    public void started(Duration startup) {
        if (registry != null) {
            kernelStartup.record(startup);
        }
    }

    /** Re-registers the per-instance rows when the number of instances changed. Never under the pool's lock. */
    public void instances(int count) {
        if (registry == null) {
            return;
        }
        synchronized (this) {
            if (closed || count == instanceRows) {
                return; // a refresh queued before close must not bring the rows back
            }
            instanceRows = count;
            List<MultiGauge.Row<?>> memoryRows = new ArrayList<>();
            List<MultiGauge.Row<?>> cpuRows = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int index = i;
                Tags instance = Tags.of("instance", Integer.toString(i));
                memoryRows.add(MultiGauge.Row.of(instance, pool, p -> usage(p.usage(index).residentBytes())));
                cpuRows.add(MultiGauge.Row.of(instance, pool, p -> usage(p.usage(index).cpuSeconds())));
            }
            memory.register(memoryRows, true);
            cpu.register(cpuRows, true);
        }
    }

    private static double usage(double value) {
        return value < 0 ? Double.NaN : value;
    }

    /** Removes every meter of the pool from the registry. */
    public void close() {
        if (registry == null) {
            return;
        }
        synchronized (this) {
            closed = true;
            memory.register(List.of(), true);
            cpu.register(List.of(), true);
            instanceRows = 0;
        }
        meters.forEach(registry::remove);
        meters.clear();
    }
}

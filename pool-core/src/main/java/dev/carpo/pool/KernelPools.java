package dev.carpo.pool;

import dev.carpo.pool.engine.Await;
import dev.carpo.pool.kernel.KernelException;
import dev.carpo.pool.kernel.KernelLimits;
import dev.carpo.pool.kernel.KernelRuntime;
import io.micrometer.core.instrument.MeterRegistry;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.kernel.KernelSpecs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The registry of kernel pools, one per language key, sharing one I/O thread and one set of
 * worker threads. Closing it shuts every pool and kernel down; so does JVM exit.
 *
 * <p>Example:
 * <pre>{@code
 * try (KernelPools pools = KernelPools.create()) {
 *     LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(3).build());
 *     LanguagePool r = pools.createPool("r", "ir", PoolOptions.builder().size(2).build());
 *     System.out.println(py.execute("21 * 2").text());   // 42
 *     System.out.println(r.execute("6 * 7").text());     // [1] 42
 * }
 * }</pre>
 */
public final class KernelPools implements AutoCloseable {
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final KernelSpecs specs;
    private final Path runtimeDir;
    private final MeterRegistry registry;
    private final KernelRuntime runtime = KernelRuntime.create();

    /** The runtime under every pool (tests reach the I/O loop through it). */
    KernelRuntime runtime() {
        return runtime;
    }
    private final ExecutorService starter;
    private final ExecutorService completer;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ExecutorService events;
    private final ConcurrentMap<String, LanguagePool> pools = new ConcurrentHashMap<>();
    private final List<PoolListener> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private KernelPools(Builder builder) {
        this.specs = builder.specs;
        this.runtimeDir = builder.runtimeDir;
        this.registry = builder.registry;
        int n = INSTANCES.incrementAndGet();
        AtomicInteger starters = new AtomicInteger();
        // A start blocks its thread for the kernel's whole start-up, so starts get a thread each; they retire
        // seconds after the burst, so a pool's steady state holds no thread per kernel.
        starter = shortLived(r -> daemon(r, "carpo-start-" + n + "-" + starters.incrementAndGet()));
        AtomicInteger completers = new AtomicInteger();
        completer = shortLived(r -> daemon(r, "carpo-complete-" + n + "-" + completers.incrementAndGet()));
        scheduler = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "carpo-timer-" + n));
        scheduler.setRemoveOnCancelPolicy(true);
        events = Executors.newSingleThreadExecutor(r -> daemon(r, "carpo-events-" + n));
    }

    /** Pools over the kernelspecs of this process's environment. */
    public static KernelPools create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Creates a pool and returns once its {@code min} kernels are ready.
     *
     * @param language the key the pool is known by, such as {@code python}
     * @param spec a kernelspec name ({@code python3}), a spec directory, or a path to a kernel.json
     * @throws PoolFailedException when the spec cannot be found or read, or its kernels cannot start
     *         (the message names the spec, the exit code and the kernel's stderr)
     * @throws IllegalArgumentException when a pool for {@code language} already exists
     */
    public LanguagePool createPool(String language, String spec, PoolOptions options) {
        Objects.requireNonNull(options, "options");
        return Await.result(createPoolAsync(language, spec, options), options.maxStartWait(options.min()).plusSeconds(60),
                language, "createPool");
    }

    /** As {@link #createPool}, without waiting. */
    public CompletableFuture<LanguagePool> createPoolAsync(String language, String spec, PoolOptions options) {
        if (language == null || language.isBlank()) {
            throw new IllegalArgumentException("a pool needs a language key, such as \"python\"");
        }
        Objects.requireNonNull(options, "options");
        // Up front, naming the option: a limit that cannot hold would otherwise fail every kernel start.
        KernelLimits.check(options.memoryLimit(), options.maxProcesses(), options.gateway() != null);
        if (options.sandbox() != null) {
            KernelLimits.checkSandbox(options.sandbox().readOnly(), options.sandbox().writable(), options.workingDirectory(), runtimeDir);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new PoolClosedException(language, -1, "KernelPools is closed", null));
        }
        KernelSpec kernelSpec;
        try {
            // On a gateway the spec is one of the server's names, checked now so a typo fails here, naming what there is.
            kernelSpec = options.gateway() != null ? runtime.gateway(options.gateway()).kernelSpec(spec) : specs.resolve(spec);
        } catch (KernelException e) {
            return CompletableFuture.failedFuture(new PoolFailedException(language, -1, e.getMessage(), e));
        }
        if (pools.containsKey(language)) {
            // Checked before the pool is built too: building one registers its meters, under the same names as the existing pool's.
            throw new IllegalArgumentException("a pool for language '" + language + "' already exists; shut it down first");
        }
        LanguagePool[] holder = new LanguagePool[1];
        LanguagePool pool = new LanguagePool(language, kernelSpec, options, runtime, runtimeDir, starter, completer, scheduler,
                events, listeners, () -> pools.remove(language, holder[0]), registry);
        holder[0] = pool;
        if (pools.putIfAbsent(language, pool) != null) {
            throw new IllegalArgumentException("a pool for language '" + language + "' already exists; shut it down first");
        }
        // A pool that cannot start is closed, and out of pools(), before the caller hears it failed: a refused
        // createPool leaves nothing behind, and the same language can be created again at once.
        return pool.start().exceptionallyCompose(e -> pool.closeAsync().handle((v, closeError) -> null)
                .thenCompose(v -> CompletableFuture.<LanguagePool>failedFuture(e)));
    }

    /**
     * The pool for a language.
     *
     * @throws IllegalArgumentException naming the pools there are, when there is none for {@code language}
     */
    public LanguagePool pool(String language) {
        LanguagePool pool = pools.get(language);
        if (pool == null) {
            throw new IllegalArgumentException("no pool for language '" + language + "'; pools: "
                    + (pools.isEmpty() ? "none" : String.join(", ", new TreeMap<>(pools).keySet())));
        }
        return pool;
    }

    /** Every pool by language, sorted by language. */
    public Map<String, LanguagePool> pools() {
        return new TreeMap<>(pools);
    }

    /** Shuts one pool down (waiting for its kernels to exit) and forgets it. */
    public void shutdownPool(String language) {
        pool(language).close();
    }

    /** Receives the lifecycle events of every pool. */
    public void addListener(PoolListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeListener(PoolListener listener) {
        listeners.remove(listener);
    }

    /** The kernelspecs pools are created from. */
    public KernelSpecs kernelSpecs() {
        return specs;
    }

    /** Shuts every pool down in parallel (failing unfinished work with {@link PoolClosedException}), then the threads. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (LanguagePool pool : pools.values()) {
            closing.add(pool.closeAsync());
        }
        try {
            CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            // The runtime below still kills whatever is left.
        }
        runtime.close();
        starter.shutdown();
        completer.shutdown();
        scheduler.shutdownNow();
        events.shutdown();
        try {
            events.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A cached pool whose idle threads retire after 5 s rather than the JDK's 60 s. */
    private static ExecutorService shortLived(java.util.concurrent.ThreadFactory factory) {
        return new java.util.concurrent.ThreadPoolExecutor(0, Integer.MAX_VALUE, 5, TimeUnit.SECONDS,
                new java.util.concurrent.SynchronousQueue<>(), factory);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Builder for {@link KernelPools}. */
    public static final class Builder {
        private KernelSpecs specs = KernelSpecs.fromEnvironment();
        private Path runtimeDir;
        private MeterRegistry registry;

        /**
         * Publishes every pool's meters to {@code registry} (see the README for the list); with none,
         * nothing is published. For Prometheus, pass a {@code PrometheusMeterRegistry} and serve it
         * with {@link dev.carpo.pool.metrics.MetricsEndpoint}.
         */
        public Builder meterRegistry(MeterRegistry registry) {
            this.registry = registry;
            return this;
        }

        /** Where kernelspecs are looked up (default: Jupyter's paths of this environment). */
        public Builder kernelSpecs(KernelSpecs specs) {
            this.specs = Objects.requireNonNull(specs, "specs");
            return this;
        }

        /** Where connection files go (default: Jupyter's runtime dir). */
        public Builder runtimeDir(Path dir) {
            this.runtimeDir = dir;
            return this;
        }

        public KernelPools build() {
            return new KernelPools(this);
        }
    }

}

package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.IoLoop;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The machinery kernels share: one I/O thread for all their sockets, a small callback pool that
 * completes futures and calls listeners, and a JVM shutdown hook. Closing it shuts down every
 * kernel it started; so does JVM exit.
 *
 * <p>Threads: one I/O thread, {@code max(2, cores)} callback threads, and a cached pool that only
 * runs signals and process termination; none of these grows with the number of kernels. (The JDK
 * itself keeps one small "process reaper" thread per child process.) Kernels on a gateway
 * ({@link KernelOptions#gateway()}) share one {@link GatewayClient} per gateway: two threads and the
 * JDK HttpClient's selector thread.
 *
 * <p>Example:
 * <pre>{@code
 * try (KernelRuntime runtime = KernelRuntime.create()) {
 *     Kernel py = runtime.start(KernelSpecs.fromEnvironment().resolve("python3"), KernelOptions.defaults())
 *             .get(60, TimeUnit.SECONDS);
 *     System.out.println(py.execute("1 + 1", Duration.ofSeconds(5)).text());   // 2
 * }   // every kernel shut down here
 * }</pre>
 */
public final class KernelRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KernelRuntime.class);
    private static final AtomicInteger RUNTIMES = new AtomicInteger();
    private static final int PORT_CLASH_ATTEMPTS = 3;

    private final int number;
    private final AtomicInteger loops = new AtomicInteger();
    /** Replaced when it dies on its own: its kernels are lost, and the pools' replacements start on the new one. */
    private volatile IoLoop loop;
    private final ExecutorService callbacks;
    private final ExecutorService blocking;
    private final Set<Kernel> kernels = ConcurrentHashMap.newKeySet();
    private final java.util.Map<Gateway, GatewayClient> gateways = new ConcurrentHashMap<>();
    private final java.util.Map<String, InProcessKernel> inProcess = new ConcurrentHashMap<>();
    private final Thread shutdownHook;
    private volatile boolean closed;

    private KernelRuntime() {
        int n = RUNTIMES.incrementAndGet();
        number = n;
        loop = newLoop();
        AtomicInteger callbackThreads = new AtomicInteger();
        callbacks = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                r -> daemon(r, "carpo-callback-" + n + "-" + callbackThreads.incrementAndGet()));
        AtomicInteger blockingThreads = new AtomicInteger();
        blocking = Executors.newCachedThreadPool(r -> daemon(r, "carpo-process-" + n + "-" + blockingThreads.incrementAndGet()));
        shutdownHook = new Thread(() -> {
            closed = true; // nothing may start a kernel while the JVM exits
            shutdownAll(Duration.ofSeconds(10));
        }, "carpo-shutdown-" + n);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    private IoLoop newLoop() {
        int generation = loops.incrementAndGet();
        IoLoop created = new IoLoop("carpo-io-" + number + (generation > 1 ? "-" + generation : ""));
        // Every kernel on a dead loop fails with "lost its I/O loop" through its own stop hook; new starts go to a fresh loop.
        created.onStop(this::liveLoop);
        return created;
    }

    /** The I/O loop new kernels start on: a new one once the last died on its own. */
    public synchronized IoLoop liveLoop() {
        IoLoop current = loop;
        // failure() is set before the loop stops taking work: a start in between must not pick the dying loop.
        if (current != null && current.failure() != null && !closed) {
            LOG.error("kernel runtime {}: I/O loop died ({}); starting a new one", number, current.failure().toString());
            loop = newLoop();
        }
        return loop;
    }

    /** A new runtime with its own I/O thread. */
    public static KernelRuntime create() {
        return new KernelRuntime();
    }

    /**
     * Serves the kernels of every spec that names {@code provisionerName} in its
     * {@code metadata.kernel_provisioner.provisioner_name} in this JVM, by {@code kernel}, instead of
     * launching the spec's argv as a process: as jupyter_client picks a kernel provisioner by that name.
     * Applies to every later {@link #start} on this runtime without a {@link KernelOptions#gateway()}
     * (on a gateway, its server provisions the kernel); a spec naming a provisioner nobody registered
     * here is launched as a process, as before.
     *
     * <p>Example: a kernel.json of
     * <pre>{@code
     * {"argv": ["/bin/false"], "display_name": "Echo", "language": "echo",
     *  "metadata": {"kernel_provisioner": {"provisioner_name": "echo-in-jvm"}}}
     * }</pre>
     * with
     * <pre>{@code
     * runtime.serveInProcess("echo-in-jvm", (kernelId, connection) -> {
     *     KernelServer server = KernelServer.start(connection, new EchoInterpreter(), "echo-" + kernelId);
     *     return new InProcessKernel.Handle() {
     *         public CompletableFuture<Integer> onExit() { return server.onExit().thenApply(v -> 0); }
     *         public void interrupt() { server.interrupt(); }
     *         public void kill() { server.kill(); }
     *     };
     * });
     * Kernel echo = runtime.start(KernelSpec.read(kernelJson), KernelOptions.defaults()).get(10, TimeUnit.SECONDS);
     * }</pre>
     *
     * @throws IllegalStateException when a kernel is already registered for {@code provisionerName}
     */
    public void serveInProcess(String provisionerName, InProcessKernel kernel) {
        if (provisionerName == null || provisionerName.isBlank()) {
            throw new IllegalArgumentException("serveInProcess: a provisioner name is needed");
        }
        java.util.Objects.requireNonNull(kernel, "kernel");
        if (inProcess.putIfAbsent(provisionerName, kernel) != null) {
            throw new IllegalStateException("provisioner '" + provisionerName + "' is already served in this runtime");
        }
    }

    /**
     * Starts a kernel from its spec; the future completes once the kernel answered kernel_info with
     * iopub connected, or fails with a {@link KernelStartException} naming the spec, exit code and stderr.
     *
     * @throws KernelStartException at once when the process cannot even be launched
     */
    public CompletableFuture<Kernel> start(KernelSpec spec, KernelOptions options) {
        return start(spec, options, kernel -> { });
    }

    /**
     * As {@link #start(KernelSpec, KernelOptions)}, calling {@code onLaunched} as soon as the process
     * runs (before it is ready), for progress reporting.
     */
    public CompletableFuture<Kernel> start(KernelSpec spec, KernelOptions options, Consumer<Kernel> onLaunched) {
        return start(spec, options, onLaunched, PORT_CLASH_ATTEMPTS);
    }

    private CompletableFuture<Kernel> start(KernelSpec spec, KernelOptions options, Consumer<Kernel> onLaunched, int attemptsLeft) {
        if (closed) {
            throw new KernelException("kernel runtime is closed");
        }
        GatewayClient gateway = options.gateway() == null ? null : gateway(options.gateway());
        InProcessKernel served = gateway == null && spec.provisionerName() != null ? inProcess.get(spec.provisionerName()) : null;
        return Kernel.start(spec, options, gateway, served, liveLoop(), callbacks, blocking, kernel -> {
            kernels.add(kernel);
            if (!kernel.isAlive()) {
                kernels.remove(kernel); // it already exited, and its removal may have come first
            }
            onLaunched.accept(kernel);
        }, kernels::remove).handle((kernel, error) -> {
            if (error == null) {
                return CompletableFuture.completedFuture(kernel);
            }
            if (attemptsLeft > 1 && !closed && portClash(error)) {
                // Another process took one of the five ports between our probe and the kernel's bind.
                LOG.info("kernelspec '{}': a port was taken before the kernel could bind it; starting again", spec.name());
                return start(spec, options, onLaunched, attemptsLeft - 1);
            }
            return CompletableFuture.<Kernel>failedFuture(error instanceof CompletionException c && c.getCause() != null ? c.getCause() : error);
        }).thenCompose(f -> f);
    }

    private static boolean portClash(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof KernelDiedException died && died.stderrTail().contains("Address already in use")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The client for a gateway, shared by every kernel this runtime starts there (its threads do not
     * grow with the number of kernels).
     */
    public GatewayClient gateway(Gateway gateway) {
        if (closed) {
            throw new KernelException("kernel runtime is closed");
        }
        return gateways.computeIfAbsent(gateway, GatewayClient::create);
    }

    /** The kernels started and not yet exited. */
    public Set<Kernel> kernels() {
        return Set.copyOf(kernels);
    }

    private void shutdownAll(Duration timeout) {
        List<CompletableFuture<Void>> all = kernels.stream().map(Kernel::shutdown).toList();
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.warn("not every kernel shut down within {} ms: {}", timeout.toMillis(), kernels);
        }
    }

    /** Shuts down every kernel in parallel (waiting up to 30 s), then stops the I/O thread. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        shutdownAll(Duration.ofSeconds(30));
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyExiting) {
            // The hook is running or has run.
        }
        loop.close(Duration.ofSeconds(5));
        gateways.values().forEach(GatewayClient::close);
        callbacks.shutdown();
        blocking.shutdown();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}

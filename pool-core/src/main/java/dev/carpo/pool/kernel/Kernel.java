package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.IoLoop;
import dev.carpo.pool.protocol.Session;
import dev.carpo.pool.protocol.WireCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One live kernel started by carpo: its process, its connection, and its lifecycle (ready,
 * interrupt, death, shutdown). Thread-safe; every method returns a future or takes a timeout.
 *
 * <p>Example:
 * <pre>{@code
 * try (KernelRuntime runtime = KernelRuntime.create()) {
 *     Kernel kernel = runtime.start(KernelSpecs.fromEnvironment().find("python3"), KernelOptions.defaults())
 *             .get(60, TimeUnit.SECONDS);
 *     KernelExecution r = kernel.execute("print(6 * 7)", Duration.ofSeconds(10));
 *     System.out.print(r.stdout());   // 42
 *     kernel.close();                 // shutdown_request, then SIGTERM, then SIGKILL
 * }
 * }</pre>
 */
public final class Kernel implements AutoCloseable {
    private static final int STDERR_TAIL_LINES = 20;

    private final String id;
    private final KernelSpec spec;
    private final KernelOptions options;
    private final Executor blocking;
    private final ConnectionInfo info;
    private final Path connectionFile;
    private final KernelHost host;
    private final KernelConnection connection;
    private final CompletableFuture<KernelDiedException> death = new CompletableFuture<>();
    private volatile CompletableFuture<Integer> exited;
    private volatile ObjectNode kernelInfo;
    private volatile boolean shuttingDown;
    private CompletableFuture<Void> shutdown;

    private Kernel(String id, KernelSpec spec, KernelOptions options, Executor blocking, ConnectionInfo info, Path connectionFile,
                   KernelHost host, KernelTransport transport, Session session, IoLoop loop, Executor callbacks) {
        this.id = id;
        this.spec = spec;
        this.options = options;
        this.blocking = blocking;
        this.info = info;
        this.connectionFile = connectionFile;
        this.host = host;
        this.connection = new KernelConnection(id, transport, session, loop, callbacks, options, this::connectionLost);
    }

    /**
     * A local child process, on five ZeroMQ sockets: loopback TCP, or, for a sandboxed kernel
     * without network, Unix sockets in its private directory reached through an {@link IpcRelay}.
     */
    private static Kernel launchLocal(KernelSpec spec, KernelOptions options, IoLoop loop, Executor callbacks, Executor blocking) {
        String id = UUID.randomUUID().toString();
        Path runtimeDir = options.runtimeDir() != null ? options.runtimeDir() : JupyterPaths.fromEnvironment().runtimeDir();
        boolean ipc = options.sandbox() != null && !options.sandbox().network();
        KernelTempDir kernelDir = options.sandbox() != null || options.scratchDirectory()
                ? KernelTempDir.create(options.scratchDirectory()) : null;
        // A sandboxed kernel sees its own directory, never the runtime dir with other kernels' keys; and ipykernel
        // rewrites its connection file once bound, so the file must be writable to it: there, not read-only.
        Path fileDir = options.sandbox() != null ? kernelDir.path() : runtimeDir;
        ConnectionInfo info;
        try {
            info = ipc ? ConnectionInfo.ipc(kernelDir.ipcPrefix(), spec.name()) : ConnectionInfo.loopback(PortReservations.reserve(), spec.name());
        } catch (RuntimeException e) {
            deleteQuietly(kernelDir);
            throw e;
        }
        LocalResources resources = new LocalResources(info, kernelDir);
        Path stderrFile = runtimeDir.resolve("kernel-" + id + ".stderr");
        Path connectionFile;
        try {
            JupyterPaths.ensurePrivateDir(runtimeDir); // for the stderr file, wherever the connection file goes
            connectionFile = info.write(fileDir, id);
            resources.files(connectionFile, stderrFile);
            Files.createFile(stderrFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (IOException e) {
            resources.release();
            deleteQuietly(fileDir.resolve("kernel-" + id + ".json"));
            throw new KernelStartException("kernelspec '" + spec.name() + "': cannot write connection file in "
                    + fileDir + " or stderr file in " + runtimeDir + ": " + e, e);
        }
        KernelProcess process;
        try {
            if (ipc) {
                resources.relay(openRelay(spec, info));
            }
            process = LocalProvisioner.launch(id, spec, connectionFile, options, stderrFile, kernelDir);
        } catch (RuntimeException e) {
            resources.release();
            throw e;
        }
        Session session = new Session(System.getProperty("user.name"));
        ConnectionInfo clientSide = resources.relay() != null ? resources.relay().clientSide() : info;
        return new Kernel(id, spec, options, blocking, info, connectionFile, new LocalKernelHost(process, resources),
                new ZmqTransport(clientSide, loop, session, options), session, loop, callbacks);
    }

    private static IpcRelay openRelay(KernelSpec spec, ConnectionInfo info) {
        try {
            return IpcRelay.open(info);
        } catch (IOException e) {
            throw new KernelStartException("kernelspec '" + spec.name() + "': cannot open the relay to its ipc channels: " + e.getMessage(), e);
        }
    }

    /**
     * A kernel this JVM serves itself ({@link InProcessKernel}), on five ZeroMQ sockets as a child
     * process would be: reserved loopback ports, a fresh key, no connection file (it is handed the
     * connection info instead).
     */
    private static Kernel launchInProcess(String provisionerName, InProcessKernel served, KernelSpec spec, KernelOptions options,
                                          IoLoop loop, Executor callbacks, Executor blocking) {
        if (options.memoryLimit() > 0 || options.maxProcesses() > 0 || options.sandbox() != null) {
            // Refused rather than silently unlimited: it shares this JVM's memory, threads, files and network.
            throw new KernelStartException("kernelspec '" + spec.name() + "': "
                    + (options.memoryLimit() > 0 ? "memoryLimit" : options.maxProcesses() > 0 ? "maxProcesses" : "a sandbox")
                    + " is for kernels carpo runs as processes; provisioner '" + provisionerName + "' serves its kernels in this JVM");
        }
        String id = UUID.randomUUID().toString();
        // Reservations are this JVM's bookkeeping, not held sockets: the kernel binds them while they stay reserved.
        ConnectionInfo info = ConnectionInfo.loopback(PortReservations.reserve(), spec.name());
        InProcessKernel.Handle handle;
        try {
            handle = served.serve(id, info);
            if (handle == null) {
                throw new IllegalStateException("serve returned no handle");
            }
        } catch (RuntimeException e) {
            PortReservations.release(info.ports().values());
            if (e instanceof KernelStartException) {
                throw e;
            }
            throw new KernelStartException("kernelspec '" + spec.name() + "' (" + spec.origin() + "): in-process kernel of provisioner '"
                    + provisionerName + "' did not start: " + e, e);
        }
        Session session = new Session(System.getProperty("user.name"));
        return new Kernel(id, spec, options, blocking, info, null, new InProcessKernelHost(handle, info, provisionerName, blocking),
                new ZmqTransport(info, loop, session, options), session, loop, callbacks);
    }

    /** A kernel on a Jupyter Server or Enterprise Gateway, on one WebSocket; its id is the server's. */
    private static Kernel launchRemote(GatewayClient gateway, KernelSpec spec, KernelOptions options, IoLoop loop, Executor callbacks,
                                       Executor blocking) {
        RemoteKernelHost host = RemoteKernelHost.start(gateway, spec, options, blocking);
        Session session = new Session(System.getProperty("user.name"));
        return new Kernel(host.remoteId(), spec, options, blocking, null, null, host,
                new WebSocketTransport(gateway, host.remoteId(), loop, session, options.maxMessageBytes(),
                        options.heartbeatInterval(), options.heartbeatTimeout()), session, loop, callbacks);
    }

    /** Reacts to the kernel's end; attached only once the kernel is registered, so an early exit cannot be lost. */
    private CompletableFuture<Integer> watchExit(Consumer<Kernel> onGone) {
        return host.onExit().thenApply(code -> {
            String detail = host.goneDetail();
            String reason = shuttingDown ? "was shut down" : detail != null ? detail
                    : kernelInfo == null ? "exited during start-up" : "exited unexpectedly";
            String tail = host.stderrTail(STDERR_TAIL_LINES);
            KernelDiedException limited = host.memoryLimitDeath(id, tail);
            died(limited != null ? limited : new KernelDiedException(id, reason, code, tail, shuttingDown));
            host.cleanup();
            onGone.accept(this);
            return code;
        });
    }

    /**
     * Launches a kernel and completes once it is ready, or fails with a {@link KernelStartException}:
     * on {@code gateway} if there is one, else served by {@code inProcess} if the runtime has one for
     * the spec's provisioner, else as a child process.
     */
    static CompletableFuture<Kernel> start(KernelSpec spec, KernelOptions options, GatewayClient gateway, InProcessKernel inProcess,
                                           IoLoop loop, Executor callbacks, Executor blocking, Consumer<Kernel> onStarted,
                                           Consumer<Kernel> onGone) {
        if (gateway != null) {
            KernelLimits.check(options.memoryLimit(), options.maxProcesses(), true); // not silently ignored
        }
        Kernel kernel = gateway != null ? launchRemote(gateway, spec, options, loop, callbacks, blocking)
                : inProcess != null ? launchInProcess(spec.provisionerName(), inProcess, spec, options, loop, callbacks, blocking)
                : launchLocal(spec, options, loop, callbacks, blocking);
        // Watched before anyone can see it: shutdown() needs `exited`, and an early exit must not be lost.
        kernel.exited = kernel.watchExit(onGone);
        try {
            onStarted.accept(kernel);
        } catch (RuntimeException e) {
            kernel.kill();
            throw e;
        }
        return kernel.connection.connect()
                .orTimeout(options.startupTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .handle((info, error) -> {
                    if (error == null) {
                        kernel.kernelInfo = info;
                        return kernel;
                    }
                    kernel.shutdown();
                    throw kernel.startFailure(unwrap(error));
                });
    }

    private KernelStartException startFailure(Throwable error) {
        String where = "kernelspec '" + spec.name() + "' (" + (host.isRemote() ? host.describe() : spec.origin()) + ")";
        if (error instanceof KernelDiedException died) {
            return new KernelStartException(where + ": " + died.getMessage(), died);
        }
        if (error instanceof TimeoutException) {
            String tail = host.stderrTail(STDERR_TAIL_LINES);
            return new KernelStartException(where + ": kernel " + id + " did not become ready within "
                    + options.startupTimeout().toMillis() + " ms (" + connection.readiness() + ")"
                    + (tail.isBlank() ? "" : "; last stderr:\n" + tail), error);
        }
        return new KernelStartException(where + ": " + error, error);
    }

    /** Where its transport stands now (open, reconnecting, reopens), for tests' failure messages. */
    String transportState() {
        return connection.transportState();
    }

    public String id() {
        return id;
    }

    public KernelSpec spec() {
        return spec;
    }

    /**
     * The local kernel's process id as this JVM sees it (not bwrap's, when the kernel runs in a PID
     * namespace of its own, where it sees itself as pid 2), or -1 for a kernel on a gateway or one
     * served in this JVM ({@link InProcessKernel}).
     */
    public long pid() {
        return host.pid();
    }

    /** Where the kernel runs: {@code local}, or the gateway's {@code host:port}. */
    public String location() {
        return host.location();
    }

    /**
     * The connection info of a local or in-process kernel as the kernel has it ({@code null} for a
     * kernel on a gateway): {@code ipc} for a sandboxed kernel without network, which carpo reaches
     * through a loopback relay.
     */
    public ConnectionInfo connectionInfo() {
        return info;
    }

    /**
     * The connection file of a local kernel ({@code null} for a kernel on a gateway or served in this
     * JVM): in the runtime dir, or for a sandboxed kernel in its private directory under /tmp.
     */
    public Path connectionFile() {
        return connectionFile;
    }

    /** The kernel_info_reply content received when the kernel became ready. */
    public ObjectNode kernelInfo() {
        return kernelInfo;
    }

    /** Whether the kernel is running and answering (not dead, not shut down). */
    public boolean isAlive() {
        return !death.isDone();
    }

    /** Completes with the cause when the kernel dies or is shut down. */
    public CompletableFuture<KernelDiedException> onDeath() {
        return death;
    }

    /** Incoming messages dropped for a bad signature or bad framing. */
    public long rejectedMessages() {
        return connection.rejectedMessages();
    }

    /** Runs code; the future completes when the execute_reply and iopub idle have both arrived. */
    public CompletableFuture<KernelExecution> execute(ExecuteRequest request) {
        return connection.execute(request);
    }

    /**
     * Runs code and waits for it, without {@code stop_on_error}: a blocking call has nothing queued
     * behind it to abort, and asking for it would make ipykernel abort the caller's next request
     * whenever that arrives before the kernel's stop-aborting callback has run.
     *
     * @throws ExecutionTimeoutException when it takes longer than {@code timeout} (the code keeps running)
     * @throws KernelDiedException when the kernel dies first
     */
    public KernelExecution execute(String code, Duration timeout) {
        ExecuteRequest request = ExecuteRequest.builder(code).stopOnError(false).timeout(timeout).build();
        Duration wait = request.timeout() == null ? InputChecks.MAX_DURATION : request.timeout();
        return await(execute(request), wait.plusSeconds(1));
    }

    /** A fresh kernel_info_request. */
    public CompletableFuture<ObjectNode> requestKernelInfo() {
        return connection.request(Channel.SHELL, "kernel_info_request", WireCodec.mapper().createObjectNode());
    }

    /** Completion candidates at {@code cursorPos} (the complete_reply content: matches, cursor_start, cursor_end). */
    public CompletableFuture<ObjectNode> complete(String code, int cursorPos) {
        InputChecks.checkCode(code, "code");
        ObjectNode content = WireCodec.mapper().createObjectNode();
        content.put("code", code);
        content.put("cursor_pos", cursorPos);
        return connection.request(Channel.SHELL, "complete_request", content);
    }

    /** Introspection at {@code cursorPos} (the inspect_reply content: found, data). */
    public CompletableFuture<ObjectNode> inspect(String code, int cursorPos, int detailLevel) {
        InputChecks.checkCode(code, "code");
        ObjectNode content = WireCodec.mapper().createObjectNode();
        content.put("code", code);
        content.put("cursor_pos", cursorPos);
        content.put("detail_level", detailLevel);
        return connection.request(Channel.SHELL, "inspect_request", content);
    }

    /** Whether {@code code} is a complete statement (the is_complete_reply content: status, indent). */
    public CompletableFuture<ObjectNode> isComplete(String code) {
        InputChecks.checkCode(code, "code");
        ObjectNode content = WireCodec.mapper().createObjectNode();
        content.put("code", code);
        return connection.request(Channel.SHELL, "is_complete_request", content);
    }

    /**
     * Interrupts the running execution: SIGINT, or an interrupt_request on control when the spec's
     * interrupt_mode is {@code message}.
     */
    public CompletableFuture<Void> interrupt() {
        if (!isAlive()) {
            return CompletableFuture.failedFuture(death.join());
        }
        if (host.isRemote()) {
            return CompletableFuture.runAsync(host::interrupt, blocking); // the server interrupts as the spec says
        }
        if (spec.interruptMode() == InterruptMode.MESSAGE) {
            return connection.request(Channel.CONTROL, "interrupt_request", WireCodec.mapper().createObjectNode())
                    .thenApply(reply -> null);
        }
        return CompletableFuture.runAsync(host::interrupt, blocking);
    }

    /**
     * Shuts the kernel down: an interrupt first if it is running code (as jupyter_client does, since
     * a kernel exits on request only between executions), then shutdown_request on control; if the process has not exited within the
     * grace period, SIGTERM to its process tree; then SIGKILL. Completes when the process is gone and
     * its connection file deleted. Requests still in flight fail with {@link KernelDiedException}.
     */
    public synchronized CompletableFuture<Void> shutdown() {
        if (shutdown != null) {
            return shutdown;
        }
        shuttingDown = true;
        long grace = options.shutdownGrace().toMillis();
        if (host.isRemote()) {
            // DELETE makes the server do what we do below for a local kernel: shutdown_request, wait, kill.
            connection.closeForExecutions();
            shutdown = runBlocking(() -> host.terminate(grace)).thenCompose(v -> exited).thenApply(code -> null);
            return shutdown;
        }
        CompletableFuture<Void> asked = CompletableFuture.completedFuture(null);
        if (host.isRunning() && connection.death() == null) {
            if (connection.closeForExecutions()) {
                // As jupyter_client: a kernel running code exits on shutdown_request only once that code stops.
                try {
                    asked = interrupt().exceptionally(e -> null).completeOnTimeout(null, grace, TimeUnit.MILLISECONDS);
                } catch (RuntimeException runtimeClosing) {
                    // No interrupt then; the request and the signals below still end it.
                }
            }
            ObjectNode content = WireCodec.mapper().createObjectNode().put("restart", false);
            asked = asked.thenRun(() -> connection.request(Channel.CONTROL, "shutdown_request", content));
        }
        // The grace period starts with the shutdown_request, not with the interrupt before it.
        shutdown = asked.thenCompose(v -> exited.copy().completeOnTimeout(null, grace, TimeUnit.MILLISECONDS))
                .thenComposeAsync(code -> {
                    if (host.isRunning()) {
                        host.terminate(grace);
                    }
                    return exited;
                }, blocking)
                .thenApply(code -> null);
        return shutdown;
    }

    /**
     * Kills the kernel's process tree at once (SIGKILL), for a kernel that no longer responds;
     * completes when the process is gone.
     */
    public CompletableFuture<Void> kill() {
        return runBlocking(() -> host.terminate(0)).thenCompose(v -> exited).thenApply(code -> null);
    }

    /** On the runtime's blocking executor, or on a thread of its own once that has shut down (a kernel must still end). */
    private CompletableFuture<Void> runBlocking(Runnable task) {
        try {
            return CompletableFuture.runAsync(task, blocking);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            return CompletableFuture.runAsync(task, r -> {
                Thread t = new Thread(r, "carpo-late-kill-" + id);
                t.setDaemon(true);
                t.start();
            });
        }
    }

    /** {@link #shutdown()} and wait for it (at most three grace periods, for interrupt, request and SIGTERM, plus 10 s). */
    @Override
    public void close() {
        await(shutdown(), options.shutdownGrace().multipliedBy(3).plusSeconds(10));
    }

    /** The link is gone (heartbeats, WebSocket) while the kernel may still run somewhere: end it for good. */
    private void connectionLost(String why) {
        // A kernel that goes quiet while shutting down on request has not died on its own.
        died(new KernelDiedException(id, why + " (" + host.describe() + (host.isRemote() ? "; deleted)" : " still running; killed)"),
                null, host.stderrTail(STDERR_TAIL_LINES), shuttingDown));
        runBlocking(() -> host.terminate(0));
    }

    private void died(KernelDiedException cause) {
        // Dead first, then fail what is in flight: whoever sees a request fail must already see
        // isAlive() false, or it may send the next request to the dead kernel.
        death.complete(cause);
        connection.die(cause);
    }

    /** Waits for a future, turning its failure into the kernel-layer exception it carries. */
    static <T> T await(CompletableFuture<T> future, Duration timeout) {
        try {
            return future.get(InputChecks.saturatedMillis(timeout), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = unwrap(e);
            if (cause instanceof KernelException ke) {
                throw ke;
            }
            throw new KernelException(cause.toString(), cause);
        } catch (TimeoutException e) {
            throw new KernelException("no answer within " + timeout.toMillis() + " ms", e);
        } catch (CancellationException e) {
            throw new KernelException("cancelled", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KernelException("interrupted while waiting", e);
        }
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    private static void deleteQuietly(KernelTempDir dir) {
        if (dir != null) {
            dir.delete();
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // Stays in the private runtime dir.
        }
    }

    @Override
    public String toString() {
        return "Kernel[" + spec.name() + " " + id + " " + host.describe() + "]";
    }
}

package dev.carpo.pool.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.kernel.ConnectionInfo;
import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;
import dev.carpo.pool.protocol.Session;
import dev.carpo.pool.protocol.WireCodec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

/**
 * Serves one {@link Interpreter} as a Jupyter kernel on the ports of a connection file, until a
 * shutdown_request or the death of the process that started it ({@code JPY_PARENT_PID}); or, in
 * this JVM, on threads of its own ({@link #start}) until a shutdown_request, {@link #stop} or
 * {@link #kill}.
 *
 * <p>Example (a kernel's main):
 * <pre>{@code
 * public static void main(String[] args) throws Exception {
 *     KernelServer.serve(Path.of(args[0]), new MyInterpreter());   // returns after shutdown_request
 * }
 * }</pre>
 *
 * <p>Example (an in-process kernel, as a {@link dev.carpo.pool.kernel.InProcessKernel} serves one):
 * <pre>{@code
 * KernelServer server = KernelServer.start(connectionInfo, new MyInterpreter(), "my-kernel-" + kernelId);
 * server.onExit().thenRun(() -> System.out.println("stopped"));   // after shutdown_request, stop() or kill()
 * }</pre>
 */
public final class KernelServer {
    private static final int POLL_MS = 200;
    /** How long {@link #start} waits for the five sockets to be bound. */
    private static final long BIND_WAIT_SECONDS = 30;
    private static final java.util.Set<String> CONTROL_TYPES = java.util.Set.of("kernel_info_request", "interrupt_request",
            "shutdown_request");

    private final ConnectionInfo info;
    private final Interpreter interpreter;
    private final WireCodec codec;
    private final Session session = new Session("carpo");
    private final ZContext zmq = new ZContext();
    private final Object iopubLock = new Object();
    private ZMQ.Socket iopub;
    private volatile boolean running = true;
    /** Ended abruptly ({@link #kill}): nothing more is sent, and nothing queued lingers. */
    private volatile boolean killed;
    /** Completes once the five sockets are bound, or fails with why they could not be. */
    private final CompletableFuture<Void> bound = new CompletableFuture<>();
    /** Completes once serving has ended (an in-process server's: see {@link #onExit}). */
    private final CompletableFuture<Void> exit = new CompletableFuture<>();
    private final Object cellLock = new Object();
    /** An execution is under way (guarded by cellLock). */
    private boolean cellRunning;
    private int executionCount;

    private KernelServer(ConnectionInfo info, Interpreter interpreter) {
        this.info = info;
        this.interpreter = interpreter;
        this.codec = new WireCodec(info.signer());
    }

    /**
     * A kernel's {@code main}: serves a fresh interpreter on the connection file named by the one
     * argument, then exits the JVM.
     */
    public static void main(String[] args, java.util.function.Supplier<Interpreter> interpreter) throws IOException, InterruptedException {
        if (args.length != 1) {
            System.err.println("usage: <kernel main class> CONNECTION_FILE");
            System.exit(2);
        }
        try (Interpreter kernel = interpreter.get()) {
            serve(Path.of(args[0]), kernel);
        }
        System.exit(0);
    }

    /** Binds, serves, and returns once a shutdown_request has been answered (or the parent process is gone). */
    public static void serve(Path connectionFile, Interpreter interpreter) throws IOException, InterruptedException {
        KernelServer server = new KernelServer(ConnectionInfo.read(connectionFile), interpreter);
        server.run("carpo-kernel", true);
    }

    /**
     * Serves {@code interpreter} in this JVM on {@code connection}'s ports, on threads of its own
     * named {@code threadName-shell}, {@code -control}, {@code -heartbeat} (and {@code -close} while
     * it closes its ZeroMQ context), and returns once the five sockets are bound. It serves until a
     * shutdown_request, {@link #stop} or {@link #kill}, then closes the interpreter; {@link #onExit}
     * completes when it has ended. Unlike {@link #serve}, it never watches {@code JPY_PARENT_PID}
     * (its parent is this JVM) and never exits or halts the JVM.
     *
     * <p>Called by an {@link dev.carpo.pool.kernel.InProcessKernel} from its {@code serve}, on the
     * thread that starts the kernel.
     *
     * @throws IllegalStateException when a socket cannot be bound (such as a port in use), or not within
     *         30 s; the server has then ended, and the interpreter was not closed (the caller still owns it)
     */
    public static KernelServer start(ConnectionInfo connection, Interpreter interpreter, String threadName) {
        KernelServer server = new KernelServer(connection, interpreter);
        // JeroMQ's I/O threads sometimes report a ClosedChannelException while the context is being
        // closed (a term ack racing the teardown); harmless, but in-process it lands in the host's stderr.
        server.zmq.setNotificationExceptionHandler((t, e) -> {
            if (server.running || !(e instanceof zmq.ZError.IOException)) {
                System.err.println("carpo kernel " + threadName + ": JeroMQ " + t.getName() + ": " + e);
            }
        });
        Thread shell = daemon(threadName + "-shell", () -> {
            try {
                server.run(threadName, false);
            } catch (Throwable t) {
                if (!server.bound.completeExceptionally(t)) {
                    System.err.println("carpo kernel " + threadName + ": ended by " + t);
                }
            } finally {
                server.exit.complete(null);
            }
        });
        shell.start();
        try {
            server.bound.get(BIND_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            server.exit.copy().completeOnTimeout(null, 10, TimeUnit.SECONDS).join(); // its sockets closed before the caller retries
            throw new IllegalStateException("in-process kernel " + threadName + " could not bind its sockets: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            server.kill();
            throw new IllegalStateException("in-process kernel " + threadName + ": sockets not bound within " + BIND_WAIT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            server.kill();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while in-process kernel " + threadName + " was binding", e);
        }
        return server;
    }

    /**
     * Completes once a server from {@link #start} has stopped serving: its sockets closed, its control
     * and heartbeat threads ended (its shell thread ends just after), its interpreter closed, after a
     * shutdown_request, {@link #stop} or {@link #kill}, or a failure to bind.
     */
    public CompletableFuture<Void> onExit() {
        return exit;
    }

    /**
     * Interrupts the running cell, as SIGINT does a kernel process: dropped when no cell runs (as
     * ipykernel ignores SIGINT between cells), so a late one cannot stop the next cell. From any thread.
     */
    public void interrupt() {
        interruptCell();
    }

    /**
     * Stops serving, as after a shutdown_request: the threads see it within 200 ms, and a running cell
     * finishes first (its reply still goes out). From any thread; idempotent.
     */
    public void stop() {
        running = false;
    }

    /**
     * Ends serving abruptly, as SIGKILL does a kernel process: nothing more is sent (no reply, no
     * status; a reply the client has not yet received is dropped), and a running cell is interrupted,
     * since a thread cannot be stopped from outside; the server ends once that cell has returned.
     * From any thread; idempotent.
     */
    public void kill() {
        killed = true;
        running = false;
        interruptCell();
    }

    private void run(String threadName, boolean watchParent) throws InterruptedException {
        ZMQ.Socket shell = null;
        ZMQ.Socket stdin = null;
        Thread control = null;
        Thread heartbeat = null;
        boolean served = false;
        try {
            iopub = bind(Channel.IOPUB, SocketType.PUB);
            shell = bind(Channel.SHELL, SocketType.ROUTER);
            stdin = bind(Channel.STDIN, SocketType.ROUTER);
            // Sockets belong to the thread that uses them: control and heartbeat bind on their own.
            CountDownLatch bindings = new CountDownLatch(2);
            java.util.concurrent.atomic.AtomicReference<RuntimeException> bindFailure = new java.util.concurrent.atomic.AtomicReference<>();
            control = daemon(threadName + "-control", () -> serveControl(bindings, bindFailure));
            heartbeat = daemon(threadName + "-heartbeat", () -> serveHeartbeat(bindings, bindFailure));
            control.start();
            heartbeat.start();
            if (!bindings.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("control and heartbeat sockets were not bound within 30 s");
            }
            if (bindFailure.get() != null) {
                throw bindFailure.get();
            }
            bound.complete(null);
            if (watchParent) {
                watchParent();
            }
            publish(null, "status", object().put("execution_state", "starting"));
            ZMQ.Poller poller = zmq.createPoller(1);
            poller.register(shell, ZMQ.Poller.POLLIN);
            while (running) {
                if (poller.poll(POLL_MS) > 0 && poller.pollin(0)) {
                    ZMsg frames = ZMsg.recvMsg(shell, ZMQ.DONTWAIT);
                    if (frames != null) {
                        handle(shell, frames, false);
                    }
                }
            }
            served = true;
        } finally {
            // Also after a failed bind: an in-process server must not leave sockets or threads behind.
            running = false;
            if (control != null) {
                control.join(TimeUnit.SECONDS.toMillis(5));
            }
            if (heartbeat != null) {
                heartbeat.join(TimeUnit.SECONDS.toMillis(5));
            }
            if (served) {
                interpreter.close();
            }
            destroy(shell);
            destroy(stdin);
            destroy(iopub);
            // Bounded: the process exits next whatever JeroMQ's teardown does.
            Thread closer = daemon(threadName + "-close", zmq::close);
            closer.start();
            closer.join(TimeUnit.SECONDS.toMillis(5));
        }
    }

    /** Closes a socket on its owner thread; after {@link #kill}, dropping what is still queued. */
    private void destroy(ZMQ.Socket socket) {
        if (socket == null) {
            return;
        }
        if (killed) {
            socket.setLinger(0);
        }
        zmq.destroySocket(socket);
    }

    private ZMQ.Socket bind(Channel channel, SocketType type) {
        ZMQ.Socket socket = zmq.createSocket(type);
        socket.setLinger(1000);
        if (type == SocketType.PUB) {
            socket.setSndHWM(0); // a PUB drops at its high-water mark: never drop output, nor the final idle
        }
        socket.bind(info.endpoint(channel));
        return socket;
    }

    /** Binds on the calling thread (the socket's owner); a failure is handed to the starting thread. */
    private ZMQ.Socket bindOwn(Channel channel, SocketType type, CountDownLatch bound,
                               java.util.concurrent.atomic.AtomicReference<RuntimeException> failure) {
        try {
            return bind(channel, type);
        } catch (RuntimeException e) {
            failure.compareAndSet(null, new IllegalStateException("cannot bind " + info.endpoint(channel) + ": " + e, e));
            running = false;
            return null;
        } finally {
            bound.countDown();
        }
    }

    private void serveControl(CountDownLatch bound, java.util.concurrent.atomic.AtomicReference<RuntimeException> failure) {
        ZMQ.Socket control = bindOwn(Channel.CONTROL, SocketType.ROUTER, bound, failure);
        if (control == null) {
            return;
        }
        control.setReceiveTimeOut(POLL_MS);
        while (running) {
            ZMsg frames = ZMsg.recvMsg(control);
            if (frames != null) {
                handle(control, frames, true);
            }
        }
        destroy(control); // by its own thread; linger lets the shutdown_reply out
    }

    private void serveHeartbeat(CountDownLatch bound, java.util.concurrent.atomic.AtomicReference<RuntimeException> failure) {
        ZMQ.Socket hb = bindOwn(Channel.HEARTBEAT, SocketType.REP, bound, failure);
        if (hb == null) {
            return;
        }
        hb.setReceiveTimeOut(POLL_MS);
        while (running) {
            byte[] ping = hb.recv();
            if (ping != null) {
                hb.send(ping);
            }
        }
        hb.setLinger(0);
        zmq.destroySocket(hb);
    }

    /** As ipykernel's parent poller: a kernel whose starter is gone (even by SIGKILL) ends too. */
    private void watchParent() {
        String parent = System.getenv("JPY_PARENT_PID");
        if (parent == null || !parent.matches("\\d+")) {
            return;
        }
        // As ipykernel's ParentPollerUnix: our actual parent's end is the signal (the pid in the variable
        // may name a process on another host, or a wrapper that exec'ed us).
        ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> {
            running = false;
            interruptCell(); // a running cell would otherwise keep this process alive
            CompletableFuture.delayedExecutor(5, TimeUnit.SECONDS).execute(() -> Runtime.getRuntime().halt(0));
        }));
    }

    private void handle(ZMQ.Socket socket, ZMsg frames, boolean isControl) {
        List<byte[]> parts = new ArrayList<>(frames.size());
        frames.forEach(f -> parts.add(f.getData()));
        Message request;
        try {
            request = codec.decode(parts);
        } catch (MessageRejectedException e) {
            System.err.println("carpo kernel: dropped a message: " + e.getMessage());
            return;
        }
        if (isControl && !CONTROL_TYPES.contains(request.type())) {
            // Code runs on the shell thread only: interpreters are not thread-safe.
            System.err.println("carpo kernel: " + request.type() + " is not served on control");
            return;
        }
        publish(request, "status", object().put("execution_state", "busy"));
        try {
            switch (request.type()) {
                case "kernel_info_request" -> reply(socket, request, "kernel_info_reply", kernelInfo());
                case "execute_request" -> execute(socket, request);
                case "complete_request" -> complete(socket, request);
                case "is_complete_request" -> isComplete(socket, request);
                case "inspect_request" -> reply(socket, request, "inspect_reply",
                        ok().put("found", false).<ObjectNode>set("data", object()).set("metadata", object()));
                case "history_request" -> reply(socket, request, "history_reply", ok().set("history", WireCodec.mapper().createArrayNode()));
                case "comm_info_request" -> reply(socket, request, "comm_info_reply", ok().set("comms", object()));
                case "interrupt_request" -> {
                    interruptCell();
                    reply(socket, request, "interrupt_reply", ok());
                }
                case "shutdown_request" -> {
                    reply(socket, request, "shutdown_reply",
                            ok().put("restart", request.content().path("restart").asBoolean(false)));
                    running = false;
                }
                default -> System.err.println("carpo kernel: no handler for " + request.type() + (isControl ? " on control" : ""));
            }
        } catch (Throwable t) {
            // One bad request must not end the kernel: answer it with an error and go on.
            String replyType = request.type().endsWith("_request") ? request.type().replace("_request", "_reply") : "error_reply";
            reply(socket, request, replyType, object().put("status", "error").put("ename", t.getClass().getSimpleName())
                    .put("evalue", String.valueOf(t.getMessage())).<ObjectNode>set("traceback", WireCodec.mapper().createArrayNode()));
            if (t instanceof VirtualMachineError vm && !(t instanceof StackOverflowError)) {
                throw vm;
            }
        } finally {
            publish(request, "status", object().put("execution_state", "idle"));
        }
    }

    private void execute(ZMQ.Socket shell, Message request) {
        ObjectNode c = request.content();
        String code = c.path("code").asText("");
        boolean silent = c.path("silent").asBoolean(false);
        if (!silent && c.path("store_history").asBoolean(true)) {
            executionCount++;
        }
        int count = executionCount;
        // Not yet interruptible: an interrupt that comes while the hook runs is dropped, as between cells.
        interpreter.beforeCell(code);
        // Interruptible from before execute_input: a client that saw it may interrupt at once.
        cellRunning(true);
        Interpreter.Outcome outcome;
        try {
            if (!silent) {
                publish(request, "execute_input", object().put("code", code).put("execution_count", count));
            }
            outcome = interpreter.execute(code, (name, text) -> {
                if (!silent) {
                    publish(request, "stream", object().put("name", name).put("text", text));
                }
            });
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            outcome = new Interpreter.Failure(e.getClass().getSimpleName(), String.valueOf(e.getMessage()), List.of(e.toString()));
        } finally {
            cellRunning(false);
        }
        if (outcome instanceof Interpreter.Failure f) {
            ObjectNode error = object().put("ename", f.ename()).put("evalue", f.evalue());
            ArrayNode tb = error.putArray("traceback");
            f.traceback().forEach(tb::add);
            publish(request, "error", error.deepCopy());
            reply(shell, request, "execute_reply", error.put("status", "error").put("execution_count", count)
                    .<ObjectNode>set("user_expressions", object()));
            return;
        }
        String value = ((Interpreter.Value) outcome).textPlain();
        if (value != null && !silent) {
            ObjectNode result = object().put("execution_count", count);
            result.putObject("data").put("text/plain", value);
            result.putObject("metadata");
            publish(request, "execute_result", result);
        }
        reply(shell, request, "execute_reply", ok().put("execution_count", count)
                .<ObjectNode>set("user_expressions", object()).set("payload", WireCodec.mapper().createArrayNode()));
    }

    private void cellRunning(boolean running) {
        synchronized (cellLock) {
            cellRunning = running;
            interpreter.clearInterrupt();
        }
    }

    /** As ipykernel ignores SIGINT between cells: a late interrupt must not stop the next caller's cell. */
    private void interruptCell() {
        synchronized (cellLock) {
            if (cellRunning) {
                interpreter.interrupt();
            }
        }
    }

    private void complete(ZMQ.Socket shell, Message request) {
        String code = request.content().path("code").asText("");
        int cursor = request.content().path("cursor_pos").asInt(code.length());
        Interpreter.Completion completion = interpreter.complete(code, Math.max(0, Math.min(cursor, code.length())));
        ObjectNode content = ok().put("cursor_start", completion.cursorStart()).put("cursor_end", completion.cursorEnd());
        ArrayNode matches = content.putArray("matches");
        completion.matches().forEach(matches::add);
        content.putObject("metadata");
        reply(shell, request, "complete_reply", content);
    }

    private void isComplete(ZMQ.Socket shell, Message request) {
        Interpreter.Completeness c = interpreter.isComplete(request.content().path("code").asText(""));
        ObjectNode content = object().put("status", c.status());
        if ("incomplete".equals(c.status())) {
            content.put("indent", c.indent());
        }
        reply(shell, request, "is_complete_reply", content);
    }

    private ObjectNode kernelInfo() {
        Interpreter.LanguageInfo li = interpreter.languageInfo();
        ObjectNode content = ok().put("protocol_version", Session.PROTOCOL_VERSION)
                .put("implementation", li.implementation()).put("implementation_version", li.implementationVersion())
                .put("banner", li.banner());
        content.putObject("language_info").put("name", li.name()).put("version", li.version())
                .put("mimetype", li.mimetype()).put("file_extension", li.fileExtension());
        content.putArray("help_links");
        return content;
    }

    private void reply(ZMQ.Socket socket, Message request, String type, ObjectNode content) {
        Message reply = session.reply(request, type, content);
        List<byte[]> frames = new ArrayList<>(request.identities());
        List<byte[]> encoded = codec.encode(reply);
        frames.addAll(encoded);
        send(socket, frames);
    }

    /** An iopub message; {@code parent} null for the start-up status. */
    private void publish(Message parent, String type, ObjectNode content) {
        Message m = parent == null ? session.request(type, content) : session.reply(parent, type, content);
        List<byte[]> frames = new ArrayList<>();
        frames.add(("kernel." + session.id() + "." + type).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        frames.addAll(codec.encode(m));
        synchronized (iopubLock) {
            send(iopub, frames);
        }
    }

    private void send(ZMQ.Socket socket, List<byte[]> frames) {
        if (killed) {
            return; // as a killed process: whatever it had not sent yet never goes out
        }
        for (int i = 0; i < frames.size(); i++) {
            socket.send(frames.get(i), i < frames.size() - 1 ? ZMQ.SNDMORE : 0);
        }
    }

    /** carpo's version from the jar manifest, or {@code dev} when run from classes. */
    public static String version() {
        String v = KernelServer.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }

    private static ObjectNode object() {
        return WireCodec.mapper().createObjectNode();
    }

    private static ObjectNode ok() {
        return object().put("status", "ok");
    }

    private static Thread daemon(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        return t;
    }
}

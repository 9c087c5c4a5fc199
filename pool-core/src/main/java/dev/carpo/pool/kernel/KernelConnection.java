package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.IoLoop;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;
import dev.carpo.pool.protocol.Session;
import dev.carpo.pool.protocol.WireCodec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of one kernel: its five sockets, its requests in flight, readiness, heartbeat
 * and death. All state below the public entry points is touched only on the {@link IoLoop}
 * thread; futures are completed and listeners called on this kernel's serial callback executor.
 */
final class KernelConnection {
    private static final Logger LOG = LoggerFactory.getLogger(KernelConnection.class);
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(1000);
    private static final Duration IOPUB_GRACE = Duration.ofMillis(200);
    private static final Duration IDLE_GRACE_AFTER_FLOOD = Duration.ofSeconds(2);

    private final String kernelId;
    private final KernelTransport transport;
    private final IoLoop loop;
    private final Session session;
    private final Executor callbacks;
    private final Executor events;
    private final KernelOptions options;
    private final java.util.function.Consumer<String> onLost;
    private final AtomicLong rejected = new AtomicLong();
    private final CompletableFuture<ObjectNode> ready = new CompletableFuture<>();

    // Loop-thread state.
    private boolean opened;
    private final Map<String, Pending> pending = new HashMap<>();
    private final Set<String> probes = new HashSet<>();
    private ObjectNode infoReply;
    private boolean iopubSeen;
    private boolean isReady;
    private Runnable probeTimer = () -> { };
    /** The iopub socket was reopened after a refused message and has not delivered yet: a PUB drops what it sends before a SUB joins. */
    private boolean iopubRejoining;
    private final List<Message> held = new ArrayList<>();
    private Runnable rejoinTimer = () -> { };
    private volatile KernelDiedException death;
    private volatile String readiness = "sockets not yet open";
    private volatile String executionState = "starting";
    private final AtomicInteger executing = new AtomicInteger();
    private volatile boolean closing;
    private final Runnable removeStopHook;

    /**
     * @param callbacks the shared callback pool: listeners run on it serially per kernel, and
     *        futures complete on it after the listener calls queued before them
     */
    KernelConnection(String kernelId, KernelTransport transport, Session session, IoLoop loop, Executor callbacks,
                     KernelOptions options, java.util.function.Consumer<String> onLost) {
        this.kernelId = kernelId;
        this.transport = transport;
        this.session = session;
        this.loop = loop;
        this.callbacks = callbacks;
        this.events = new SerialExecutor(callbacks);
        this.options = options;
        this.onLost = onLost;
        this.removeStopHook = loop.onStop(() -> {
            dieOnLoop(loopGone());
            if (loop.failure() != null) {
                // The loop died under a live kernel: the kernel is lost (and ended), so its pool replaces it on a new loop.
                String why = loopGoneReason();
                handOff(() -> onLost.accept(why));
            }
        });
    }

    /** Opens the transport and starts probing with kernel_info until the kernel is ready. */
    CompletableFuture<ObjectNode> connect() {
        onLoop(() -> {
            if (death != null) {
                return;
            }
            opened = true;
            transport.open(new KernelTransport.Receiver() {
                @Override
                public void onMessage(Channel channel, Message message) {
                    if (death == null) {
                        handle(channel, message);
                    }
                }

                @Override
                public void onRejected(Channel channel, String why) {
                    rejected.incrementAndGet();
                    LOG.warn("kernel {}: dropped a message on {}: {}", kernelId, channel, why);
                }

                @Override
                public void onUnreadable(Channel channel, MessageRejectedException e) {
                    if (death == null) {
                        unreadable(channel, e);
                    }
                }

                @Override
                public void onRefused(Channel channel, long limitBytes, String what) {
                    if (death == null) {
                        refused(channel, limitBytes, what);
                    }
                }

                @Override
                public void onFailure(Channel channel, Throwable error) {
                    if (death == null) {
                        failed(channel, null, error);
                    }
                }

                @Override
                public void onChannelsChanged() {
                    if (!isReady && death == null) {
                        watchReadiness(null, null);
                    }
                }

                @Override
                public void onLost(String why) {
                    if (death == null) {
                        LOG.warn("kernel {}: {}", kernelId, why);
                        // Off the loop, and not behind this kernel's listeners (an input handler may be waiting on a person).
                        handOff(() -> onLost.accept(why));
                    }
                }
            });
            probe();
        });
        return ready;
    }

    long rejectedMessages() {
        return rejected.get();
    }

    /**
     * Refuses executions from now on (the kernel is shutting down) and says whether code may still be
     * running: an execution is in flight, or the kernel last reported busy.
     */
    boolean closeForExecutions() {
        closing = true;
        return executing.get() > 0 || "busy".equals(executionState);
    }

    KernelDiedException death() {
        return death;
    }

    /** Where start-up stands, for the error of a kernel that never became ready. */
    String readiness() {
        return readiness;
    }

    // ---- requests (any thread) ----

    /** Sends a request on shell or control; the future completes with the reply's content. */
    CompletableFuture<ObjectNode> request(Channel channel, String msgType, ObjectNode content) {
        Message message = session.request(msgType, content);
        ReplyPending p = new ReplyPending(message.header().msgId(), msgType);
        submit(channel, message, p, options.requestTimeout());
        return p.result;
    }

    /** Sends an execute_request; the future completes when reply and idle have both arrived. */
    CompletableFuture<KernelExecution> execute(ExecuteRequest request) {
        ObjectNode content = WireCodec.mapper().createObjectNode();
        content.put("code", request.code());
        content.put("silent", request.silent());
        content.put("store_history", request.storeHistory());
        ObjectNode expressions = content.putObject("user_expressions");
        request.userExpressions().forEach(expressions::put);
        content.put("allow_stdin", request.input() != null);
        content.put("stop_on_error", request.stopOnError());
        Message message = session.request("execute_request", content);
        ExecutionPending p = new ExecutionPending(message.header().msgId(), request);
        executing.incrementAndGet();
        if (closing) {
            // Checked after counting it: a shutdown either sees this execution (and interrupts it) or we see the shutdown.
            executing.decrementAndGet();
            return CompletableFuture.failedFuture(new KernelDiedException(kernelId, "is shutting down", null, "", true));
        }
        p.result.whenComplete((r, e) -> p.uncount()); // a cancel completes it without complete() or fail()
        submit(Channel.SHELL, message, p, request.timeout());
        return p.result;
    }

    private void submit(Channel channel, Message message, Pending p, Duration timeout) {
        // A caller's cancel must not leave an entry behind.
        p.future.whenComplete((v, e) -> {
            if (p.future.isCancelled()) {
                onLoop(() -> {
                    pending.remove(p.msgId);
                    p.cancelTimer.run();
                });
            }
        });
        boolean queued = onLoop(() -> {
            if (death != null) {
                p.fail(death);
                return;
            }
            if (!opened) {
                // Asked before the transport was opened (a shutdown racing the start): nothing can carry it.
                p.fail(new KernelException("kernel " + kernelId + " is not connected yet; cannot send " + message.type()));
                return;
            }
            p.channel = channel;
            pending.put(p.msgId, p);
            if (timeout != null) {
                p.cancelTimer = loop.schedule(timeout, () -> {
                    if (pending.remove(p.msgId) != null) {
                        p.fail(p.timedOut(timeout));
                    }
                });
            }
            p.sent = Instant.now();
            if (iopubRejoining && p instanceof ExecutionPending) {
                held.add(message); // sent once iopub delivers again, or its output would go to no one
            } else if (!transport.send(channel, message)) {
                pending.remove(p.msgId);
                p.fail(new KernelException("kernel " + kernelId + " cannot take a " + message.type() + " on " + channel.wireName()
                        + " now (its socket is being reopened after a refused message, or its queue is full)"));
            }
        });
        if (!queued) {
            p.fail(loopGone());
        }
    }

    /** Fails every request in flight with {@code cause} and closes the sockets; idempotent. */
    void die(KernelDiedException cause) {
        onLoop(() -> dieOnLoop(cause));
    }

    /**
     * Runs {@code task} on the I/O loop, or returns false when the loop has stopped: its stop hook
     * has then failed everything in flight, and the caller fails whatever {@code task} was for.
     */
    private boolean onLoop(Runnable task) {
        try {
            loop.execute(task);
            return true;
        } catch (RejectedExecutionException stopped) {
            KernelDiedException cause = loopGone();
            completeLater(() -> ready.completeExceptionally(cause));
            return false;
        }
    }

    /**
     * Completes a future after the listener calls queued before it, yet not on the serial
     * executor: a caller's stage that blocks on this kernel again must not wait behind itself.
     */
    private void completeLater(Runnable completion) {
        events.execute(() -> handOff(completion));
    }

    private void handOff(Runnable task) {
        try {
            callbacks.execute(task);
        } catch (RejectedExecutionException shutDown) {
            task.run(); // the runtime is closed: complete here rather than never
        }
    }

    private KernelDiedException loopGone() {
        KernelDiedException d = death;
        return d != null ? d : new KernelDiedException(kernelId, loopGoneReason(), null, "");
    }

    private String loopGoneReason() {
        Throwable why = loop.failure();
        return "lost its I/O loop (" + (why != null ? "it failed: " + why : "the kernel runtime was closed") + ")";
    }

    private void dieOnLoop(KernelDiedException cause) {
        if (death != null) {
            return;
        }
        death = cause;
        removeStopHook.run();
        probeTimer.run();
        rejoinTimer.run();
        held.clear();
        completeLater(() -> ready.completeExceptionally(cause));
        List<Pending> failed = new ArrayList<>(pending.values());
        pending.clear();
        failed.forEach(p -> p.fail(cause));
        transport.close();
    }

    // ---- loop thread ----

    private void probe() {
        if (isReady || death != null) {
            return;
        }
        Message message = session.request("kernel_info_request", WireCodec.mapper().createObjectNode());
        probes.add(message.header().msgId());
        describeReadiness();
        transport.send(Channel.SHELL, message);
        scheduleProbe(PROBE_INTERVAL);
    }

    private void describeReadiness() {
        readiness = probes.size() + " kernel_info_request(s) sent; kernel_info_reply " + (infoReply != null ? "received" : "not received")
                + "; iopub " + (iopubSeen ? "delivering" : "silent") + "; " + transport.describe()
                + "; " + rejected.get() + " message(s) rejected";
    }

    /** One probe timer per connection: a new schedule replaces the pending one, so probes never multiply. */
    private void scheduleProbe(Duration delay) {
        probeTimer.run();
        probeTimer = loop.schedule(delay, this::probe);
    }

    /** Fault injection for tests: runs before each received message is handled (loop thread). */
    static volatile java.util.function.BiConsumer<String, Message> beforeHandle;

    private void handle(Channel channel, Message message) {
        try {
            java.util.function.BiConsumer<String, Message> hook = beforeHandle;
            if (hook != null) {
                hook.accept(kernelId, message);
            }
            dispatch(channel, message);
        } catch (RuntimeException | Error e) {
            // One kernel's message must not take the loop (and every other kernel) down with it.
            failed(channel, message, e);
        }
    }

    /**
     * Handling this kernel's messages failed (an odd message, an Error such as OutOfMemoryError): its
     * requests can no longer be trusted to complete, so the kernel is lost, and only this kernel.
     */
    private void failed(Channel channel, Message message, Throwable e) {
        LOG.error("kernel {}: handling {} on {} failed; ending this kernel", kernelId,
                message == null ? "a message" : message.type(), channel, e);
        String why = "could not be served: handling " + (message == null ? "a message" : "a " + message.type())
                + " on " + channel.wireName() + " failed with " + e;
        dieOnLoop(new KernelDiedException(kernelId, why, null, ""));
        handOff(() -> onLost.accept(why));
    }

    /** The request is complete: out of the table, its timer off, its outcome delivered. */
    private void finish(Pending p) {
        pending.remove(p.msgId);
        p.cancelTimer.run();
        p.complete();
    }

    /** A well-signed message whose body could not be read: the request it answers is told, never left with a gap. */
    private void unreadable(Channel channel, MessageRejectedException e) {
        rejected.incrementAndGet();
        Pending p = e.parentId() == null ? null : pending.get(e.parentId());
        LOG.warn("kernel {}: {} on {}{}", kernelId, e.getMessage(), channel == null ? "its WebSocket" : channel, p == null ? " (for no request in flight)" : "");
        if (p != null && p.onUnreadable(channel, e)) {
            finish(p);
        }
    }

    /**
     * Probes with kernel_info until the reopened iopub socket delivers (any message, such as the
     * probe's busy status, proves it has joined); executions asked for meanwhile wait in {@link #held}.
     */
    private void rejoinIopub() {
        if (!iopubRejoining || death != null) {
            return;
        }
        transport.send(Channel.SHELL, session.request("kernel_info_request", WireCodec.mapper().createObjectNode()));
        rejoinTimer = loop.schedule(IOPUB_GRACE, this::rejoinIopub);
    }

    /** A message on {@code channel} was over {@code maxMessageBytes} and refused unread; we cannot know which request it was for. */
    private void refused(Channel channel, long limitBytes, String what) {
        rejected.incrementAndGet();
        if (channel == Channel.IOPUB && !iopubRejoining) {
            iopubRejoining = true;
            rejoinIopub();
        }
        String on = channel == null ? "its WebSocket" : channel.wireName();
        OutputLimitException e = what == null ? new OutputLimitException(kernelId, on, limitBytes)
                : new OutputLimitException(kernelId, on, limitBytes, what);
        LOG.warn("{}", e.getMessage());
        for (Pending p : new ArrayList<>(pending.values())) {
            if (p.onRefused(channel, e)) {
                finish(p);
            }
        }
    }

    private void dispatch(Channel channel, Message message) {
        if (!isReady) {
            watchReadiness(channel, message);
        }
        if (channel == Channel.IOPUB && iopubRejoining) {
            iopubRejoining = false;
            rejoinTimer.run();
            for (Message m : held) {
                if (pending.containsKey(m.header().msgId())) { // not timed out or cancelled while held
                    transport.send(Channel.SHELL, m);
                }
            }
            held.clear();
        }
        if (channel == Channel.IOPUB && "status".equals(message.type())) {
            executionState = message.content().path("execution_state").asText(executionState);
        }
        String parent = message.parentId();
        Pending p = parent == null ? null : pending.get(parent);
        if (p == null) {
            return; // late output of a timed-out request, startup chatter, comm_*, debug_*, …
        }
        boolean done = switch (channel) {
            case SHELL, CONTROL -> message.type().endsWith("_reply") && p.onReply(message);
            case IOPUB -> p.onIopub(message);
            case STDIN -> p.onStdin(message);
            case HEARTBEAT -> false;
        };
        if (done) {
            finish(p);
        }
    }

    /**
     * Ready = a kernel_info_reply and proof that iopub delivers, as jupyter_client's wait_for_ready,
     * and the transport's word that every channel (stdin too) is connected.
     */
    private void watchReadiness(Channel channel, Message message) {
        if (channel == Channel.IOPUB) {
            iopubSeen = true;
        } else if (channel == Channel.SHELL && "kernel_info_reply".equals(message.type())
                && probes.contains(message.parentId())) {
            infoReply = message.content();
            if (!iopubSeen) {
                // The SUB socket may have joined after this probe's status messages: ask again soon.
                scheduleProbe(IOPUB_GRACE);
            }
        }
        describeReadiness();
        if (infoReply != null && iopubSeen && transport.channelsReady() && !isReady && death == null) {
            isReady = true;
            probeTimer.run();
            probes.clear();
            transport.startLiveness();
            ObjectNode reply = infoReply;
            completeLater(() -> ready.complete(reply));
        }
    }

    private void sendInputReply(Message inputRequest, String value) {
        onLoop(() -> {
            if (death != null) {
                return;
            }
            ObjectNode content = WireCodec.mapper().createObjectNode();
            content.put("value", value);
            content.put("status", "ok");
            transport.send(Channel.STDIN, session.reply(inputRequest, "input_reply", content));
        });
    }

    // ---- requests in flight ----

    private abstract class Pending {
        final String msgId;
        final CompletableFuture<?> future;
        Runnable cancelTimer = () -> { };
        Instant sent = Instant.now();
        Channel channel = Channel.SHELL;

        Pending(String msgId, CompletableFuture<?> future) {
            this.msgId = msgId;
            this.future = future;
        }

        /** Returns true when the request is complete. */
        abstract boolean onReply(Message reply);

        /** A message for this request could not be read; true when the request is complete. */
        boolean onUnreadable(Channel on, MessageRejectedException e) {
            if (on == channel || on == null && e.msgType() != null && e.msgType().endsWith("_reply")) {
                pending.remove(msgId);
                fail(new KernelException("kernel " + kernelId + " sent a reply that could not be read: " + e.getMessage()));
            }
            return false;
        }

        /** A message on {@code on}, perhaps for this request, was refused; true when the request is complete. */
        boolean onRefused(Channel on, OutputLimitException e) {
            if (on == channel || on == null) {
                pending.remove(msgId);
                fail(e);
            }
            return false;
        }

        boolean onIopub(Message message) {
            return false;
        }

        boolean onStdin(Message message) {
            return false;
        }

        abstract void complete();

        KernelException timedOut(Duration timeout) {
            return new ExecutionTimeoutException(kernelId, msgId, timeout);
        }

        void fail(Throwable cause) {
            cancelTimer.run();
            completeLater(() -> future.completeExceptionally(cause));
        }
    }

    private final class ReplyPending extends Pending {
        final CompletableFuture<ObjectNode> result;
        final String msgType;
        ObjectNode content;

        ReplyPending(String msgId, String msgType) {
            this(msgId, msgType, new CompletableFuture<>());
        }

        private ReplyPending(String msgId, String msgType, CompletableFuture<ObjectNode> result) {
            super(msgId, result);
            this.result = result;
            this.msgType = msgType;
        }

        @Override
        KernelException timedOut(Duration timeout) {
            return new RequestTimeoutException(kernelId, msgType, msgId, timeout);
        }

        @Override
        boolean onReply(Message reply) {
            content = reply.content();
            return true;
        }

        @Override
        void complete() {
            ObjectNode c = content;
            completeLater(() -> result.complete(c));
        }
    }

    private final class ExecutionPending extends Pending {
        final CompletableFuture<KernelExecution> result;
        final ExecuteRequest request;
        final OutputBuffer output;
        private final AtomicLong listenerQueued = new AtomicLong();
        /** Listener calls skipped because too many were queued (loop thread). */
        private long listenerMissed;
        /** An input_request is with the handler and not yet answered (loop thread). */
        private boolean inputPending;
        ExecutionError error;
        ObjectNode reply;
        /** The execute_reply was refused or unreadable: the execution ends, failed, once the kernel is idle. */
        KernelException replyLost;
        /** An iopub message was refused: idle may have gone with it, so the reply alone completes. */
        boolean iopubLost;
        boolean idle;
        boolean clearOnNextOutput;
        int executionCount = -1;
        Instant started;
        private final AtomicBoolean counted = new AtomicBoolean(true);

        ExecutionPending(String msgId, ExecuteRequest request) {
            this(msgId, request, new CompletableFuture<>());
        }

        private ExecutionPending(String msgId, ExecuteRequest request, CompletableFuture<KernelExecution> result) {
            super(msgId, result);
            this.result = result;
            this.request = request;
            this.output = new OutputBuffer(request.maxOutputBytes());
        }

        @Override
        boolean onUnreadable(Channel on, MessageRejectedException e) {
            output.lost(e.bytes());
            if ((on == Channel.SHELL || on == null) && "execute_reply".equals(e.msgType())) {
                replyLost = new KernelException("kernel " + kernelId + " sent an execute_reply that could not be read: " + e.getMessage());
                return idle;
            }
            return false;
        }

        @Override
        boolean onRefused(Channel on, OutputLimitException e) {
            output.lost(e.limitBytes());
            OutputListener l = request.listener();
            if (l != null) {
                events.execute(() -> l.onRefused(e));
            }
            if (on == null) {
                // One WebSocket carries every channel: it was the reply (then idle ends us, failed) or output (then the reply does).
                iopubLost = true;
                if (reply == null) {
                    replyLost = e;
                }
                return reply != null || idle;
            }
            switch (on) {
                case SHELL -> {
                    replyLost = e;
                    return idle;
                }
                case IOPUB -> {
                    iopubLost = true;
                    return reply != null;
                }
                default -> {
                    return false;
                }
            }
        }

        /** Leaves the in-flight count before anyone learns the outcome, so a shutdown that follows sees it done. */
        void uncount() {
            if (counted.compareAndSet(true, false)) {
                executing.decrementAndGet();
            }
        }

        @Override
        void fail(Throwable cause) {
            uncount();
            super.fail(cause);
        }

        @Override
        boolean onReply(Message message) {
            if (!"execute_reply".equals(message.type())) {
                return false;
            }
            reply = boundedReply(message);
            replyLost = null; // it came after all (a refusal we could not place was not it)
            JsonNode count = reply.get("execution_count");
            if (count != null && count.canConvertToInt()) {
                executionCount = count.asInt();
            }
            if (error == null && "error".equals(reply.path("status").asText())) {
                error = output.bounded(errorFrom(reply));
            }
            if (!idle && !iopubLost && output.truncated()) {
                // A kernel that flooded iopub may have dropped its own idle (its PUB socket's high-water mark):
                // the reply has come, so do not wait for it past a grace.
                loop.schedule(IDLE_GRACE_AFTER_FLOOD, () -> {
                    if (pending.get(msgId) == this) {
                        finish(this);
                    }
                });
            }
            return idle || iopubLost;
        }

        /** A reply whose payload or user_expressions would take the output past its limit keeps neither. */
        private ObjectNode boundedReply(Message message) {
            ObjectNode content = message.content();
            long budget = Math.max(1024, request.maxOutputBytes() / 4);
            if (message.wireBytes() > budget) {
                // Kept as the raw reply too (ExecutionResult.execution().reply()): bounded like the rest of the output.
                ObjectNode copy = content.deepCopy();
                if (copy.has("payload") || copy.has("user_expressions")) {
                    copy.putArray("payload");
                    copy.putObject("user_expressions");
                }
                if (copy.has("traceback") || copy.has("evalue")) {
                    ExecutionError bounded = output.bounded(errorFrom(copy));
                    copy.put("ename", bounded.ename());
                    copy.put("evalue", bounded.evalue());
                    copy.putArray("traceback").addAll(bounded.traceback().stream()
                            .map(com.fasterxml.jackson.databind.node.TextNode::valueOf).toList());
                }
                try {
                    output.lost(Math.max(1, message.wireBytes() - WireCodec.mapper().writeValueAsBytes(copy).length));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    output.lost(message.wireBytes());
                }
                return copy;
            }
            return content;
        }

        @Override
        boolean onIopub(Message message) {
            ObjectNode c = message.content();
            switch (message.type()) {
                case "status" -> {
                    String state = c.path("execution_state").asText();
                    if ("busy".equals(state) && started == null) {
                        started = Instant.now();
                    } else if ("idle".equals(state)) {
                        idle = true;
                        return reply != null || replyLost != null;
                    }
                }
                case "execute_input" -> {
                    if (c.path("execution_count").canConvertToInt()) {
                        executionCount = c.path("execution_count").asInt();
                    }
                    OutputListener l = request.listener();
                    if (l != null) {
                        int count = executionCount;
                        toListener(OutputBuffer.ITEM_OVERHEAD, () -> l.onStarted(count));
                    }
                }
                case "stream" -> {
                    applyPendingClear();
                    String name = c.path("name").asText("stdout").equals("stderr") ? "stderr" : "stdout";
                    String text = c.path("text").asText("");
                    OutputListener l = request.listener();
                    String shown = output.stream(name, text);
                    if (shown != null && l != null) {
                        toListener(OutputBuffer.utf8Length(shown), () -> l.onStream(name, shown));
                    }
                }
                case "execute_result", "display_data" -> {
                    applyPendingClear();
                    DisplayOutput shown = output(message.type(), c);
                    if (output.output(shown, message.wireBytes())) {
                        notifyOutput(shown, message.wireBytes());
                    }
                }
                case "update_display_data" -> {
                    DisplayOutput update = output("display_data", c);
                    output.update(update.displayId(), update.data(), message.wireBytes())
                            .forEach(o -> notifyOutput(o, message.wireBytes()));
                }
                case "clear_output" -> {
                    if (c.path("wait").asBoolean(false)) {
                        clearOnNextOutput = true;
                    } else {
                        clear();
                    }
                }
                case "error" -> {
                    error = output.bounded(errorFrom(c));
                    OutputListener l = request.listener();
                    ExecutionError e = error;
                    if (l != null) {
                        toListener(message.wireBytes(), () -> l.onError(e));
                    }
                }
                default -> {
                    // comm_*, debug_event and other types carry nothing an execution result holds.
                }
            }
            return false;
        }

        @Override
        boolean onStdin(Message message) {
            if (!"input_request".equals(message.type())) {
                return false;
            }
            String prompt = message.content().path("prompt").asText("");
            boolean password = message.content().path("password").asBoolean(false);
            InputHandler handler = request.input();
            if (handler == null || inputPending) {
                // allow_stdin was false, yet the kernel asked (or it asks again before the last answer): answer EOF
                // so it raises instead of waiting forever, and requests never pile up behind a person.
                sendInputReply(message, "\u0004");
                return false;
            }
            inputPending = true;
            String shortPrompt = prompt.length() > 4096 ? prompt.substring(0, 4096) + "…" : prompt;
            events.execute(() -> {
                String answer;
                try {
                    answer = handler.answer(shortPrompt, password);
                } catch (RuntimeException e) {
                    LOG.warn("kernel {}: input handler failed; answering EOF", kernelId, e);
                    answer = "\u0004";
                }
                String value = answer == null ? "\u0004" : answer;
                onLoop(() -> inputPending = false);
                sendInputReply(message, value);
            });
            return false;
        }

        private void applyPendingClear() {
            if (clearOnNextOutput) {
                clearOnNextOutput = false;
                clear();
            }
        }

        private void clear() {
            output.clear();
        }

        private void notifyOutput(DisplayOutput output, long bytes) {
            OutputListener l = request.listener();
            if (l != null) {
                toListener(bytes, () -> l.onOutput(output));
            }
        }

        /**
         * Queues a listener call, unless calls already queued and not yet run hold the output limit's
         * worth: a listener slower than the kernel (updates replace output in place, clear_output
         * starts it again) must not make them pile up without bound. What it misses it is told of.
         */
        private void toListener(long bytes, Runnable call) {
            long cost = bytes + OutputBuffer.ITEM_OVERHEAD;
            if (listenerQueued.get() + cost > request.maxOutputBytes()) {
                listenerMissed += bytes;
                return;
            }
            listenerQueued.addAndGet(cost);
            events.execute(() -> {
                try {
                    call.run();
                } finally {
                    listenerQueued.addAndGet(-cost);
                }
            });
        }

        @Override
        void complete() {
            output.finish();
            OutputListener l = request.listener();
            if ((output.truncated() || listenerMissed > 0) && l != null) {
                long dropped = output.droppedBytes() + listenerMissed;
                events.execute(() -> {
                    l.onTruncated(dropped);
                    output.replayTail(l);
                });
            }
            if (replyLost != null) {
                fail(replyLost);
                return;
            }
            Instant finished = Instant.now();
            KernelExecution execution = new KernelExecution(msgId, ReplyStatus.of(reply.path("status").asText(null)),
                    executionCount, output.text("stdout"), output.text("stderr"), output.outputs(), error, reply, sent,
                    started != null ? started : sent, finished, output.truncated(), output.droppedBytes());
            uncount();
            completeLater(() -> result.complete(execution));
        }
    }

    private static DisplayOutput output(String type, ObjectNode c) {
        Map<String, JsonNode> data = new HashMap<>();
        c.path("data").fields().forEachRemaining(e -> data.put(e.getKey(), e.getValue()));
        JsonNode metadata = c.get("metadata");
        JsonNode displayId = c.path("transient").get("display_id");
        JsonNode count = c.get("execution_count");
        return new DisplayOutput(type, data,
                metadata instanceof ObjectNode m ? m : WireCodec.mapper().createObjectNode(),
                displayId != null && displayId.isTextual() ? displayId.asText() : null,
                count != null && count.canConvertToInt() ? count.asInt() : null);
    }

    private static ExecutionError errorFrom(JsonNode c) {
        List<String> traceback = new ArrayList<>();
        c.path("traceback").forEach(line -> traceback.add(line.asText()));
        return new ExecutionError(c.path("ename").asText(""), c.path("evalue").asText(""), traceback);
    }
}

package dev.carpo.pool.kernel;

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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of one kernel: its five sockets, its requests in flight (each a
 * {@link PendingRequest}), readiness, heartbeat and death. All state below the public entry points
 * is touched only on the {@link IoLoop} thread; listeners are called on this kernel's serial
 * callback executor, and request futures complete as {@link #completeLater} says.
 */
final class KernelConnection {
    private static final Logger LOG = LoggerFactory.getLogger(KernelConnection.class);
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(1000);
    private static final Duration IOPUB_GRACE = Duration.ofMillis(200);

    private final String kernelId;
    private final KernelTransport transport;
    private final IoLoop loop;
    private final Session session;
    private final Executor callbacks;
    private final SerialExecutor events;
    private final Executor stages = this::handOff;
    private final KernelOptions options;
    private final java.util.function.Consumer<String> onLost;
    private final AtomicLong rejected = new AtomicLong();
    private final CompletableFuture<ObjectNode> ready = new CompletableFuture<>();

    // Loop-thread state.
    private boolean opened;
    private final Map<String, PendingRequest> pending = new HashMap<>();
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

    /** The transport's state now (read off the loop thread: for diagnostics only). */
    String transportState() {
        return transport.describe();
    }

    // ---- requests (any thread) ----

    /** Sends a request on shell or control; the future completes with the reply's content. */
    CompletableFuture<ObjectNode> request(Channel channel, String msgType, ObjectNode content) {
        Message message = session.request(msgType, content);
        PendingReply p = new PendingReply(this, message.header().msgId(), msgType);
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
        PendingExecution p = new PendingExecution(this, message.header().msgId(), request);
        executing.incrementAndGet();
        if (closing) {
            // Checked after counting it: a shutdown either sees this execution (and interrupts it) or we see the shutdown.
            executing.decrementAndGet();
            return CompletableFuture.failedFuture(new KernelDiedException(kernelId, "is shutting down", null, "", true));
        }
        ((CallbackFuture<KernelExecution>) p.result).whenCompleteInline((r, e) -> p.uncount()); // a cancel completes it without complete() or fail()
        submit(Channel.SHELL, message, p, request.timeout());
        return p.result;
    }

    private void submit(Channel channel, Message message, PendingRequest p, Duration timeout) {
        // A caller's cancel must not leave an entry behind.
        ((CallbackFuture<?>) p.future).whenCompleteInline((v, e) -> {
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
            if (iopubRejoining && p instanceof PendingExecution) {
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
    boolean onLoop(Runnable task) {
        try {
            loop.execute(task);
            return true;
        } catch (RejectedExecutionException stopped) {
            KernelDiedException cause = loopGone();
            completeLater(ready, () -> ready.completeExceptionally(cause));
            return false;
        }
    }

    /**
     * Completes {@code future} after the listener calls queued before it, yet not on the serial
     * executor: a caller's stage that blocks on this kernel again must not wait behind itself. With
     * no listener call waiting, a {@link CallbackFuture} (whose stages never run on the completing
     * thread) completes here and now, so a caller blocked on it wakes straight from the I/O loop:
     * the hot path's one hand-off. Any other future completes on the callback executor.
     */
    void completeLater(CompletableFuture<?> future, Runnable completion) {
        if (future instanceof CallbackFuture<?> && events.runIfIdle(completion)) {
            return;
        }
        events.execute(() -> handOff(completion));
    }

    /** Where the stages of this kernel's request futures run: the shared callback pool (the caller's thread once it is shut down). */
    Executor stages() {
        return stages;
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
        completeLater(ready, () -> ready.completeExceptionally(cause));
        List<PendingRequest> failed = new ArrayList<>(pending.values());
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
    private void finish(PendingRequest p) {
        pending.remove(p.msgId);
        p.cancelTimer.run();
        p.complete();
    }

    /** A well-signed message whose body could not be read: the request it answers is told, never left with a gap. */
    private void unreadable(Channel channel, MessageRejectedException e) {
        rejected.incrementAndGet();
        PendingRequest p = e.parentId() == null ? null : pending.get(e.parentId());
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
        for (PendingRequest p : new ArrayList<>(pending.values())) {
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
        PendingRequest p = parent == null ? null : pending.get(parent);
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
            completeLater(ready, () -> ready.complete(reply));
        }
    }

    /** Answers an input_request on stdin (any thread); nothing is sent once the kernel is dead. */
    void sendInputReply(Message inputRequest, String value) {
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

    // ---- for the requests in flight ----

    String kernelId() {
        return kernelId;
    }

    /** This kernel's serial callback executor: listener and input handler calls run on it, in order. */
    Executor events() {
        return events;
    }

    /** Takes the request for {@code msgId} out of the table, its outcome left to the caller (loop thread). */
    void forget(String msgId) {
        pending.remove(msgId);
    }

    /** Finishes {@code p} after {@code delay} unless it has completed meanwhile (loop thread). */
    void finishAfter(Duration delay, PendingRequest p) {
        loop.schedule(delay, () -> {
            if (pending.get(p.msgId) == p) {
                finish(p);
            }
        });
    }

    /** An execution counted by {@link #execute} has left the in-flight count (any thread). */
    void executionEnded() {
        executing.decrementAndGet();
    }
}

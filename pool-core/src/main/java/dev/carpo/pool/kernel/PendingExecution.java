package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;
import dev.carpo.pool.protocol.WireCodec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An execute_request in flight: its output buffered within the request's limit, its listener
 * calls within a budget, its input_requests passed to the handler, and its completion once both
 * execute_reply and iopub idle have arrived (or what is lost makes one of them enough). Every
 * message is taken on the connection's I/O loop thread; listener and input handler calls run on
 * the kernel's serial callback executor, hence the atomic listener budget and in-flight count.
 */
final class PendingExecution extends PendingRequest {
    /** Under the connection's logger, so one kernel's log lines stay under one name. */
    private static final Logger LOG = LoggerFactory.getLogger(KernelConnection.class);
    private static final Duration IDLE_GRACE_AFTER_FLOOD = Duration.ofSeconds(2);

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
    /** Told on the loop thread that the execution has begun, or null. */
    private final LoopAwareListener loopListener;
    /** Who gets the usual listener calls on the callback executor, or null for no one. */
    private final OutputListener listener;

    PendingExecution(KernelConnection connection, String msgId, ExecuteRequest request) {
        this(connection, msgId, request, new CallbackFuture<>(connection.stages()));
    }

    private PendingExecution(KernelConnection connection, String msgId, ExecuteRequest request,
                             CompletableFuture<KernelExecution> result) {
        super(connection, msgId, result);
        this.result = result;
        this.request = request;
        this.output = new OutputBuffer(request.maxOutputBytes());
        OutputListener l = request.listener();
        this.loopListener = l instanceof LoopAwareListener a ? a : null;
        this.listener = loopListener != null && !loopListener.wantsCalls() ? null : l;
    }

    @Override
    boolean onUnreadable(Channel on, MessageRejectedException e) {
        output.lost(e.bytes());
        if ((on == Channel.SHELL || on == null) && "execute_reply".equals(e.msgType())) {
            replyLost = new KernelException("kernel " + connection.kernelId() + " sent an execute_reply that could not be read: "
                    + e.getMessage());
            return idle;
        }
        return false;
    }

    @Override
    boolean onRefused(Channel on, OutputLimitException e) {
        output.lost(e.limitBytes());
        OutputListener l = request.listener();
        if (l != null) {
            connection.events().execute(() -> l.onRefused(e));
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
            connection.executionEnded();
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
            connection.finishAfter(IDLE_GRACE_AFTER_FLOOD, this);
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
                int count = executionCount;
                if (loopListener != null) {
                    try {
                        loopListener.startedOnLoop(count);
                    } catch (RuntimeException e) {
                        // The pool's bookkeeping failed (say, its runtime closing): not this kernel's fault, so not its death.
                        LOG.warn("kernel {}: the start of an execution could not be handled", connection.kernelId(), e);
                    }
                }
                OutputListener l = listener;
                if (l != null) {
                    toListener(OutputBuffer.ITEM_OVERHEAD, () -> l.onStarted(count));
                }
            }
            case "stream" -> {
                applyPendingClear();
                String name = c.path("name").asText("stdout").equals("stderr") ? "stderr" : "stdout";
                String text = c.path("text").asText("");
                OutputListener l = listener;
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
                OutputListener l = listener;
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
            connection.sendInputReply(message, "\u0004");
            return false;
        }
        inputPending = true;
        String shortPrompt = prompt.length() > 4096 ? prompt.substring(0, 4096) + "…" : prompt;
        connection.events().execute(() -> {
            String answer;
            try {
                answer = handler.answer(shortPrompt, password);
            } catch (RuntimeException e) {
                LOG.warn("kernel {}: input handler failed; answering EOF", connection.kernelId(), e);
                answer = "\u0004";
            }
            String value = answer == null ? "\u0004" : answer;
            connection.onLoop(() -> inputPending = false);
            connection.sendInputReply(message, value);
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
        OutputListener l = listener;
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
        connection.events().execute(() -> {
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
        OutputListener l = listener;
        if ((output.truncated() || listenerMissed > 0) && l != null) {
            long dropped = output.droppedBytes() + listenerMissed;
            connection.events().execute(() -> {
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
        connection.completeLater(result, () -> result.complete(execution));
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

package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * One request of a {@link KernelConnection} in flight: its msg_id, the future its caller holds,
 * and what each incoming message (reply, iopub, stdin, unreadable, refused) does to it. Built on
 * the caller's thread, then touched only on the connection's I/O loop thread, except
 * {@link #fail}, which may also run on the caller's thread when the loop has stopped; the future
 * is completed as {@link KernelConnection#completeLater} says.
 */
abstract class PendingRequest {
    final KernelConnection connection;
    final String msgId;
    final CompletableFuture<?> future;
    Runnable cancelTimer = () -> { };
    Instant sent = Instant.now();
    Channel channel = Channel.SHELL;

    PendingRequest(KernelConnection connection, String msgId, CompletableFuture<?> future) {
        this.connection = connection;
        this.msgId = msgId;
        this.future = future;
    }

    /** Returns true when the request is complete. */
    abstract boolean onReply(Message reply);

    /** A message for this request could not be read; true when the request is complete. */
    boolean onUnreadable(Channel on, MessageRejectedException e) {
        if (on == channel || on == null && e.msgType() != null && e.msgType().endsWith("_reply")) {
            connection.forget(msgId);
            fail(new KernelException("kernel " + connection.kernelId() + " sent a reply that could not be read: " + e.getMessage()));
        }
        return false;
    }

    /** A message on {@code on}, perhaps for this request, was refused; true when the request is complete. */
    boolean onRefused(Channel on, OutputLimitException e) {
        if (on == channel || on == null) {
            connection.forget(msgId);
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
        return new ExecutionTimeoutException(connection.kernelId(), msgId, timeout);
    }

    void fail(Throwable cause) {
        cancelTimer.run();
        connection.completeLater(future, () -> future.completeExceptionally(cause));
    }
}

package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.Message;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A shell or control request in flight that completes with its reply's content. Its reply is
 * taken on the connection's I/O loop thread, which completes its future (see {@link KernelConnection#completeLater}).
 */
final class PendingReply extends PendingRequest {
    final CompletableFuture<ObjectNode> result;
    final String msgType;
    ObjectNode content;

    PendingReply(KernelConnection connection, String msgId, String msgType) {
        this(connection, msgId, msgType, new CallbackFuture<>(connection.stages()));
    }

    private PendingReply(KernelConnection connection, String msgId, String msgType, CompletableFuture<ObjectNode> result) {
        super(connection, msgId, result);
        this.result = result;
        this.msgType = msgType;
    }

    @Override
    KernelException timedOut(Duration timeout) {
        return new RequestTimeoutException(connection.kernelId(), msgType, msgId, timeout);
    }

    @Override
    boolean onReply(Message reply) {
        content = reply.content();
        return true;
    }

    @Override
    void complete() {
        ObjectNode c = content;
        connection.completeLater(result, () -> result.complete(c));
    }
}

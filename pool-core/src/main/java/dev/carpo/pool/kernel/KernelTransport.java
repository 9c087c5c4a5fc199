package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;

/**
 * How messages reach one kernel: its five ZeroMQ sockets ({@link ZmqTransport}), or one WebSocket
 * through a Jupyter Server ({@link WebSocketTransport}). {@link KernelConnection} keeps the requests,
 * readiness and results; a transport only moves messages and says when its link is lost. Every
 * method is called on the I/O loop thread, and every {@link Receiver} call is made on it.
 */
interface KernelTransport {

    /** What a transport reports to its connection, always on the loop thread. */
    interface Receiver {
        void onMessage(Channel channel, Message message);

        /** A message dropped for a bad signature or framing. */
        void onRejected(Channel channel, String why);

        /** A well-signed message whose body could not be read; the exception names its type and the request it answers. */
        void onUnreadable(Channel channel, MessageRejectedException e);

        /**
         * A message over {@link KernelOptions#maxMessageBytes()} was refused unread on this channel
         * ({@code null}: on every channel), or the socket was cut for holding too much unread;
         * {@code what} says which, after "kernel ID " ({@code null}: a message over the bound).
         */
        void onRefused(Channel channel, long limitBytes, String what);

        /** Reading or decoding this kernel's messages failed (an Error such as OutOfMemoryError): the kernel is lost. */
        void onFailure(Channel channel, Throwable error);

        /** {@link #channelsReady()} may have changed. */
        void onChannelsChanged();

        /** The link to the kernel is gone for good (heartbeat lost, WebSocket closed and not reopened, server restarted it). */
        void onLost(String why);
    }

    void open(Receiver receiver);

    /** Sends, or returns false when the transport is not open (never opened, or closed). */
    boolean send(Channel channel, Message message);

    /**
     * Whether every channel can deliver both ways now: a request answered on shell proves nothing
     * about stdin, whose input_request a kernel drops for a peer it has not yet seen.
     */
    boolean channelsReady();

    /** Starts watching liveness once the kernel is ready (heartbeats, for ZeroMQ). */
    void startLiveness();

    /** Closes the link; no {@link Receiver#onLost} follows. Idempotent. */
    void close();

    /** A few words on the link's state, for a start-up that never became ready. */
    String describe();
}

package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.IoLoop;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;
import dev.carpo.pool.protocol.Session;
import dev.carpo.pool.protocol.WireCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.zeromq.ZMQ;

/**
 * The five ZeroMQ sockets of a local kernel, signed with its connection key, and the heartbeat.
 * Loop-thread only, except for the stdin handshake flag set by a JeroMQ I/O thread.
 */
final class ZmqTransport implements KernelTransport {
    private static final byte[] PING = "ping".getBytes(StandardCharsets.US_ASCII);

    private final ConnectionInfo info;
    private final IoLoop loop;
    private final WireCodec codec;
    private final Session session;
    private final Duration heartbeatInterval;
    private final Duration heartbeatTimeout;
    private final long maxMessageBytes;
    private final Map<Channel, ZMQ.Socket> sockets = new EnumMap<>(Channel.class);
    private final Map<Channel, ReceiveBudget> budgets = new EnumMap<>(Channel.class);
    /** Set from a JeroMQ I/O thread once the stdin DEALER has completed its ZMTP handshake. */
    private volatile boolean stdinConnected;
    private Receiver receiver;
    private long lastPong;
    private Runnable heartbeatTimer = () -> { };
    private boolean closed;

    ZmqTransport(ConnectionInfo info, IoLoop loop, Session session, KernelOptions options) {
        this.info = info;
        this.loop = loop;
        this.codec = new WireCodec(info.signer());
        this.session = session;
        this.heartbeatInterval = options.heartbeatInterval();
        this.heartbeatTimeout = options.heartbeatTimeout();
        this.maxMessageBytes = options.maxMessageBytes();
    }

    /**
     * Messages a socket holds for the loop at most: past it JeroMQ stops reading and TCP pushes back
     * on the kernel (the default, 1000, would let one flooding kernel park gigabytes in this JVM).
     * With frames bounded by {@code maxMessageBytes} and a {@link ReceiveBudget} on every socket,
     * what waits unread is bounded per socket and over the JVM. Iopub carries the floods; the
     * other channels carry one reply or request at a time.
     */
    static int receiveHwm(Channel channel) {
        return channel == Channel.IOPUB ? 4 : 2;
    }
    /** JeroMQ retries a lost connection within milliseconds; one not retried by then was dropped for a refused frame. */
    private static final Duration REFUSAL_CHECK = Duration.ofMillis(250);

    @Override
    public void open(Receiver receiver) {
        this.receiver = receiver;
        for (Channel channel : Channel.values()) {
            openSocket(channel);
        }
    }

    private void openSocket(Channel channel) {
        byte[] identity = session.id().getBytes(StandardCharsets.UTF_8);
        long frameLimit = channel == Channel.HEARTBEAT ? HEARTBEAT_FRAME_LIMIT : maxMessageBytes;
        sockets.put(channel, loop.open(channel.clientSocket(), info.endpoint(channel),
                s -> {
                    configure(channel, s, identity);
                    ReceiveBudget budget = new ReceiveBudget((receiveHwm(channel) + 2) * frameLimit, () -> overBudget(channel, s));
                    s.setMsgAllocator(budget);
                    budgets.put(channel, budget);
                    watch(channel, s);
                }, s -> onReadable(channel, s)));
    }

    private static final long HEARTBEAT_FRAME_LIMIT = 64 * 1024;

    /** From JeroMQ's thread: the socket holds more unread than its budget (or the JVM's): cut it, on the loop. */
    private void overBudget(Channel channel, ZMQ.Socket socket) {
        boolean jvm = ReceiveBudget.jvmFull();
        try {
            loop.execute(() -> cut(channel, socket, "sent more on " + channel.wireName() + " than "
                    + (jvm ? "the " + Bytes.describe(ReceiveBudget.JVM_LIMIT) + " this JVM holds unread for all kernels"
                    : "the " + Bytes.describe((receiveHwm(channel) + 2) * maxMessageBytes) + " one socket may hold unread")
                    + " (a message of many frames, or a flood); it was cut off"));
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // The loop is gone; so is this kernel.
        }
    }

    private void configure(Channel channel, ZMQ.Socket socket, byte[] identity) {
        // A frame over this is refused unread (JeroMQ drops that connection): nothing a kernel sends is buffered whole past it.
        socket.setMaxMsgSize(channel == Channel.HEARTBEAT ? HEARTBEAT_FRAME_LIMIT : maxMessageBytes);
        socket.setRcvHWM(receiveHwm(channel));
        switch (channel) {
            case IOPUB -> socket.subscribe(new byte[0]);
            case HEARTBEAT -> {
                socket.setReqRelaxed(true);
                socket.setReqCorrelate(true);
            }
            // The kernel routes input_request to the stdin socket whose identity sent the execute.
            default -> socket.setIdentity(identity);
        }
    }

    /**
     * Socket events tell two things. The kernel's stdin ROUTER drops an input_request addressed to a
     * peer whose handshake has not finished, and the kernel then waits for an answer forever; each
     * DEALER reconnects on its own schedule, so readiness waits for stdin's handshake too. And JeroMQ
     * meets a frame over {@code maxMessageBytes} by dropping the connection for good, where any other
     * lost connection (the kernel exiting, a restart) is retried at once: a disconnect with no retry
     * after it is a refused message, so the requests it may have been for are told, and the socket
     * is opened again. Only a connection that completed its handshake can have carried a frame: one
     * closed before (an {@link IpcRelay} closes it while the kernel's Unix socket is not there yet,
     * so JeroMQ connects again) is not watched for a retry.
     */
    private void watch(Channel channel, ZMQ.Socket socket) {
        if (channel == Channel.HEARTBEAT) {
            return; // a refused heartbeat is a silent heartbeat: the kernel is declared dead by its timeout
        }
        boolean[] awaitingRetry = {false}; // loop thread only
        boolean[] handshaken = {false}; // loop thread only: the current connection completed its ZMTP handshake
        socket.setEventHook(event -> {
            try {
                switch (event.getEvent()) {
                    case DISCONNECTED -> loop.execute(() -> {
                        if (!handshaken[0]) {
                            return;
                        }
                        handshaken[0] = false;
                        awaitingRetry[0] = true;
                        loop.schedule(REFUSAL_CHECK, () -> {
                            if (awaitingRetry[0]) {
                                cut(channel, socket, null);
                            }
                        });
                    });
                    case CONNECT_RETRIED -> loop.execute(() -> awaitingRetry[0] = false);
                    default -> {
                        loop.execute(() -> handshaken[0] = true);
                        if (channel == Channel.STDIN && !stdinConnected) {
                            stdinConnected = true;
                            loop.execute(() -> {
                                if (!closed) {
                                    receiver.onChannelsChanged();
                                }
                            });
                        }
                    }
                }
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // The loop is gone (runtime closed); its stop hook failed this kernel already.
            }
        }, ZMQ.EVENT_HANDSHAKE_PROTOCOL | ZMQ.EVENT_DISCONNECTED | ZMQ.EVENT_CONNECT_RETRIED);
    }

    /** Closes a socket that refused a frame or held too much, opens it again, and tells the requests it may have been for. */
    private void cut(Channel channel, ZMQ.Socket socket, String what) {
        if (closed || sockets.get(channel) != socket) {
            return; // closed with its kernel, or already replaced
        }
        loop.close(socket);
        sockets.remove(channel);
        budgets.remove(channel).release();
        openSocket(channel);
        receiver.onRefused(channel, maxMessageBytes, what);
    }

    /** Never blocks the loop: a socket that cannot take it now (cut and not yet reopened, or full) returns false. */
    @Override
    public boolean send(Channel channel, Message message) {
        ZMQ.Socket socket = sockets.get(channel);
        if (socket == null) {
            return false;
        }
        return loop.send(socket, codec.encode(message));
    }

    @Override
    public boolean channelsReady() {
        return stdinConnected;
    }

    private void onReadable(Channel channel, ZMQ.Socket socket) {
        if (channel == Channel.HEARTBEAT) {
            // A REQ socket holds at most one reply; a second recv before the next send is an EFSM error.
            List<byte[]> pong = IoLoop.receive(socket);
            if (pong != null) {
                lastPong = System.nanoTime();
                ReceiveBudget budget = budgets.get(channel);
                if (budget != null) {
                    budget.received(pong);
                }
            }
            return;
        }
        List<byte[]> frames;
        try {
            // One message a call: the loop calls again while the socket has input, a bounded number of times a round,
            // so one flooding kernel cannot starve the others' heartbeats and timers.
            if (!closed && (frames = IoLoop.receive(socket)) != null) {
                ReceiveBudget budget = budgets.get(channel);
                if (budget != null) {
                    budget.received(frames);
                }
                Message message;
                try {
                    message = codec.decode(frames);
                } catch (MessageRejectedException e) {
                    if (e.reason() == MessageRejectedException.Reason.UNREADABLE) {
                        receiver.onUnreadable(channel, e);
                    } else {
                        receiver.onRejected(channel, e.getMessage());
                    }
                    return;
                }
                receiver.onMessage(channel, message);
            }
        } catch (RuntimeException | Error e) {
            // Decoding one kernel's message failed (even with an Error): that kernel's problem, not the loop's.
            receiver.onFailure(channel, e);
        }
    }

    @Override
    public void startLiveness() {
        lastPong = System.nanoTime();
        heartbeatTimer = loop.schedule(heartbeatInterval, this::heartbeat);
    }

    private void heartbeat() {
        if (closed) {
            return;
        }
        if (System.nanoTime() - lastPong > heartbeatTimeout.toNanos()) {
            receiver.onLost("stopped answering heartbeats for " + heartbeatTimeout.toMillis() + " ms");
            return;
        }
        loop.send(sockets.get(Channel.HEARTBEAT), List.of(PING));
        heartbeatTimer = loop.schedule(heartbeatInterval, this::heartbeat);
    }

    @Override
    public void close() {
        closed = true;
        heartbeatTimer.run();
        sockets.values().forEach(loop::close);
        sockets.clear();
        budgets.values().forEach(ReceiveBudget::release);
        budgets.clear();
    }

    @Override
    public String describe() {
        return "stdin " + (stdinConnected ? "connected" : "not connected");
    }
}

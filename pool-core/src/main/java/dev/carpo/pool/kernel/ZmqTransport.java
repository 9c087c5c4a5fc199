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
    private final Map<Channel, ZMQ.Socket> sockets = new EnumMap<>(Channel.class);
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
    }

    @Override
    public void open(Receiver receiver) {
        this.receiver = receiver;
        byte[] identity = session.id().getBytes(StandardCharsets.UTF_8);
        for (Channel channel : Channel.values()) {
            sockets.put(channel, loop.open(channel.clientSocket(), info.endpoint(channel),
                    s -> {
                        configure(channel, s, identity);
                        if (channel == Channel.STDIN) {
                            watchStdinHandshake(s);
                        }
                    }, s -> onReadable(channel, s)));
        }
    }

    private static void configure(Channel channel, ZMQ.Socket socket, byte[] identity) {
        switch (channel) {
            case IOPUB -> {
                socket.setRcvHWM(0); // never drop output under a flood
                socket.subscribe(new byte[0]);
            }
            case HEARTBEAT -> {
                socket.setReqRelaxed(true);
                socket.setReqCorrelate(true);
            }
            // The kernel routes input_request to the stdin socket whose identity sent the execute.
            default -> socket.setIdentity(identity);
        }
    }

    /**
     * The kernel's stdin ROUTER drops an input_request addressed to a peer whose handshake has not
     * finished, and the kernel then waits for an answer forever. Each DEALER reconnects on its own
     * schedule, so shell and iopub answering proves nothing about stdin: readiness waits for it too.
     */
    private void watchStdinHandshake(ZMQ.Socket socket) {
        socket.setEventHook(event -> {
            if (!stdinConnected) {
                stdinConnected = true;
                try {
                    loop.execute(() -> {
                        if (!closed) {
                            receiver.onChannelsChanged();
                        }
                    });
                } catch (java.util.concurrent.RejectedExecutionException stopped) {
                    // The loop is gone (runtime closed); its stop hook failed this kernel already.
                }
            }
        }, ZMQ.EVENT_HANDSHAKE_PROTOCOL);
    }

    @Override
    public boolean send(Channel channel, Message message) {
        ZMQ.Socket socket = sockets.get(channel);
        if (socket == null) {
            return false;
        }
        loop.send(socket, codec.encode(message));
        return true;
    }

    @Override
    public boolean channelsReady() {
        return stdinConnected;
    }

    private void onReadable(Channel channel, ZMQ.Socket socket) {
        if (channel == Channel.HEARTBEAT) {
            // A REQ socket holds at most one reply; a second recv before the next send is an EFSM error.
            if (IoLoop.receive(socket) != null) {
                lastPong = System.nanoTime();
            }
            return;
        }
        List<byte[]> frames;
        while (!closed && (frames = IoLoop.receive(socket)) != null) {
            Message message;
            try {
                message = codec.decode(frames);
            } catch (MessageRejectedException e) {
                receiver.onRejected(channel, e.getMessage());
                continue;
            }
            receiver.onMessage(channel, message);
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
    }

    @Override
    public String describe() {
        return "stdin " + (stdinConnected ? "connected" : "not connected");
    }
}

package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.IoLoop;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;
import dev.carpo.pool.protocol.Session;
import dev.carpo.pool.protocol.WebSocketCodec;
import java.io.ByteArrayOutputStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A remote kernel's channels over one WebSocket to a Jupyter Server or Enterprise Gateway. Sends
 * go out one at a time (the JDK's WebSocket allows one outstanding send), in order. A dropped
 * socket is reopened once, with the same session id so the server replays what it buffered;
 * only if that fails is the kernel lost. The server's own "restarting" or "dead" status means the
 * kernel's process died and its state is gone: that too is a lost kernel, not a live one.
 *
 * <p>Once the kernel is ready, a socket that has carried no frame for the heartbeat interval is
 * pinged, and one silent for the heartbeat timeout counts as dropped. A connection can die without
 * a word (a proxy or NAT that forgets it, a server host gone), and the JDK's client (17 to 25) can
 * miss even a closed one: when the end of the stream arrives while its listener has no
 * outstanding {@code request}, its receiving task fails inside the JDK and neither
 * {@code onClose} nor {@code onError} ever follows.
 */
final class WebSocketTransport implements KernelTransport {
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);
    private static final Duration RECONNECT_DELAY = Duration.ofMillis(500);
    /** Past this, a message's collecting buffer is not kept for the next one. */
    private static final int SMALL = 64 * 1024;

    private final GatewayClient client;
    private final String kernelId;
    private final IoLoop loop;
    private final Session session;
    private final Deque<Outgoing> queue = new ArrayDeque<>();
    private Receiver receiver;
    private WebSocket socket;
    private boolean v1;
    private boolean sending;
    private boolean reconnecting;
    private boolean everOpen;
    private boolean closed;
    private int reconnects;
    private final Duration heartbeatInterval;
    private final Duration heartbeatTimeout;
    /** When the current socket last carried a frame (or opened); set on the JDK's threads, read on the loop. */
    private volatile long lastFrame = System.nanoTime();
    private Runnable heartbeatTimer = () -> { };

    private record Outgoing(Channel channel, Message message) {
    }

    private final long maxMessageBytes;

    WebSocketTransport(GatewayClient client, String kernelId, IoLoop loop, Session session, long maxMessageBytes,
            Duration heartbeatInterval, Duration heartbeatTimeout) {
        this.maxMessageBytes = maxMessageBytes;
        this.heartbeatInterval = heartbeatInterval;
        this.heartbeatTimeout = heartbeatTimeout;
        this.client = client;
        this.kernelId = kernelId;
        this.loop = loop;
        this.session = session;
    }

    @Override
    public void open(Receiver receiver) {
        this.receiver = receiver;
        connect(null);
    }

    /** Opens the socket; {@code dropped} says why the previous one went, when this is the one retry. */
    private void connect(String dropped) {
        // The socket is adopted in onOpen, which the JDK calls before any message: none can arrive unowned.
        client.openChannels(kernelId, session.id(), new Listener(dropped)).whenComplete((ws, error) -> {
            if (error != null) {
                onLoop(() -> {
                    if (closed) {
                        return;
                    }
                    closed = true;
                    receiver.onLost(dropped == null
                            ? "could not open its channels: " + KernelDiedException.describe(error)
                            : "lost its WebSocket (" + dropped + ") and could not reopen it: " + KernelDiedException.describe(error));
                });
            }
        });
    }

    private void adopt(WebSocket ws, String dropped) {
        if (closed) {
            ws.abort();
            return;
        }
        socket = ws;
        lastFrame = System.nanoTime();
        v1 = WebSocketCodec.V1_PROTOCOL.equals(ws.getSubprotocol());
        reconnecting = false;
        if (dropped != null) {
            reconnects++;
        }
        if (!everOpen) {
            everOpen = true;
            receiver.onChannelsChanged();
        }
        pump();
    }

    private void onLoop(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException stopped) {
            // The loop's stop hook has failed everything of this kernel already.
        }
    }

    @Override
    public boolean send(Channel channel, Message message) {
        if (closed || receiver == null) {
            return false;
        }
        queue.add(new Outgoing(channel, message));
        pump();
        return true;
    }

    private void pump() {
        if (socket == null || sending || closed || queue.isEmpty()) {
            return;
        }
        Outgoing next = queue.poll();
        WebSocket ws = socket;
        sending = true;
        CompletableFuture<WebSocket> sent = v1
                ? ws.sendBinary(WebSocketCodec.encodeV1(next.channel(), next.message()), true)
                : ws.sendText(WebSocketCodec.encodeJson(next.channel(), next.message()), true);
        sent.whenComplete((w, error) -> onLoop(() -> {
            sending = false;
            if (error != null) {
                queue.addFirst(next); // sent again on the reopened socket
                dropped(ws, "a send failed: " + KernelDiedException.describe(error));
                pump(); // the new socket may already be open, its pump skipped while this send was out
                return;
            }
            pump();
        }));
    }

    private void dropped(WebSocket ws, String why) {
        if (ws != socket || closed) {
            return; // an old socket's late news, or our own close
        }
        socket = null;
        ws.abort();
        if (reconnecting) {
            return;
        }
        reconnecting = true;
        // A moment's pause: a proxy or load balancer blip is over by then more often than not.
        loop.schedule(RECONNECT_DELAY, () -> {
            if (!closed) {
                connect(why);
            }
        });
    }

    private void deliver(WebSocket ws, Object frame) {
        if (ws != socket || closed) {
            return;
        }
        WebSocketCodec.Received r;
        try {
            if (!v1 && frame instanceof ByteBuffer) {
                // The legacy protocol's binary form (a message with buffers) is not the v1 framing.
                receiver.onRejected(null, "a binary message on the JSON protocol (buffers are carried only with "
                        + WebSocketCodec.V1_PROTOCOL + ")");
                return;
            }
            r = frame instanceof String text ? WebSocketCodec.decodeJson(text) : WebSocketCodec.decodeV1((ByteBuffer) frame);
        } catch (MessageRejectedException e) {
            if (e.reason() == MessageRejectedException.Reason.UNREADABLE) {
                receiver.onUnreadable(null, e);
            } else {
                receiver.onRejected(null, e.getMessage());
            }
            return;
        } catch (RuntimeException | Error e) {
            receiver.onFailure(null, e);
            return;
        }
        Message m = r.message();
        if (r.channel() == Channel.IOPUB && "status".equals(m.type()) && m.parentId() == null) {
            String state = m.content().path("execution_state").asText("");
            if (state.equals("restarting") || state.equals("dead")) {
                closed = true;
                receiver.onLost(state.equals("restarting")
                        ? "was restarted by the gateway after its process died (its state is gone)"
                        : "is dead on the gateway (its process died and could not be restarted)");
                return;
            }
        }
        receiver.onMessage(r.channel(), m);
    }

    @Override
    public boolean channelsReady() {
        return everOpen;
    }

    @Override
    public void startLiveness() {
        // With the socket's close and the host's polling of /api/kernels/{id}: those alone miss a silent or unreported drop.
        heartbeatTimer = loop.schedule(heartbeatInterval, this::heartbeat);
    }

    private void heartbeat() {
        if (closed) {
            return;
        }
        WebSocket ws = socket;
        long silent = System.nanoTime() - lastFrame;
        if (ws != null && silent > heartbeatTimeout.toNanos()) {
            dropped(ws, "no frame from the server for " + heartbeatTimeout.toMillis() + " ms, not even a pong");
        } else if (ws != null && silent >= heartbeatInterval.toNanos()) {
            ws.sendPing(NO_DATA).whenComplete((sent, error) -> {
                // IllegalStateException: our own pong is in flight (one ping or pong at a time), so the socket is writing anyway.
                if (error != null && !(unwrapped(error) instanceof IllegalStateException)) {
                    onLoop(() -> dropped(ws, "a ping failed: " + KernelDiedException.describe(error)));
                }
            });
        }
        heartbeatTimer = loop.schedule(heartbeatInterval, this::heartbeat);
    }

    @Override
    public void close() {
        closed = true;
        heartbeatTimer.run();
        queue.clear();
        WebSocket ws = socket;
        socket = null;
        if (ws != null) {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "")
                    .orTimeout(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((w, e) -> ws.abort());
        }
    }

    @Override
    public String describe() {
        return "WebSocket " + (socket != null ? "open (" + (v1 ? WebSocketCodec.V1_PROTOCOL : "JSON messages") + ")"
                : everOpen ? "reconnecting" : "not open") + (reconnects > 0 ? ", reopened " + reconnects + " time(s)" : "");
    }

    /**
     * Collects a message's parts, then hands it to the loop; asks for the next only once the loop has
     * taken it, so a flooding kernel is held back by the server rather than queued here. A message
     * past {@code maxMessageBytes} is skipped to its end, never collected, and reported as refused.
     */
    private static Throwable unwrapped(Throwable e) {
        return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    private static final ByteBuffer NO_DATA = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private final class Listener implements WebSocket.Listener {
        private StringBuilder text = new StringBuilder();
        private ByteArrayOutputStream binary = new ByteArrayOutputStream();
        private final String dropped;
        private boolean skipping;
        /** The last pong sent; the JDK allows one at a time. Touched on the WebSocket's receiving thread only. */
        private java.util.concurrent.CompletableFuture<WebSocket> pong = java.util.concurrent.CompletableFuture.completedFuture(null);

        Listener(String dropped) {
            this.dropped = dropped;
        }

        @Override
        public void onOpen(WebSocket ws) {
            lastFrame = System.nanoTime();
            onLoop(() -> adopt(ws, dropped));
            ws.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            lastFrame = System.nanoTime();
            if (!skipping && text.length() + (long) data.length() > maxMessageBytes) {
                skipping = true;
                text.setLength(0);
            }
            if (!skipping) {
                text.append(data);
            }
            if (last) {
                finish(ws, text.toString());
                // A buffer that grew for one large message would otherwise keep its size for the kernel's life.
                text = text.capacity() > SMALL ? new StringBuilder() : text;
                text.setLength(0);
            } else {
                ws.request(1);
            }
            return null;
        }

        private void finish(WebSocket ws, Object message) {
            boolean refused = skipping;
            skipping = false;
            // An empty pong (unsolicited pongs are allowed, RFC 6455 5.5.3) carries this host's ACK at once. Without it the
            // server's next small frame waits behind Nagle's algorithm for a delayed ACK, about 40 ms per round trip on Linux.
            if (pong.isDone()) { // one in flight acknowledges as well
                pong = ws.sendPong(NO_DATA).whenComplete((sent, error) -> {
                    if (error != null && !(unwrapped(error) instanceof IllegalStateException)) {
                        onLoop(() -> dropped(ws, "failed: " + KernelDiedException.describe(error)));
                    }
                });
            }

            onLoop(() -> {
                if (refused) {
                    if (ws == socket && !closed) {
                        receiver.onRefused(null, maxMessageBytes, null);
                    }
                } else {
                    deliver(ws, message);
                }
                ws.request(1);
            });
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            lastFrame = System.nanoTime();
            if (!skipping && binary.size() + (long) data.remaining() > maxMessageBytes) {
                skipping = true;
                binary.reset();
            }
            if (!skipping) {
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                binary.writeBytes(bytes);
            }
            if (last) {
                finish(ws, ByteBuffer.wrap(binary.toByteArray()));
                binary = binary.size() > SMALL ? new ByteArrayOutputStream() : binary;
                binary.reset();
            } else {
                ws.request(1);
            }
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket ws, ByteBuffer message) {
            lastFrame = System.nanoTime(); // the JDK answers it
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket ws, ByteBuffer message) {
            lastFrame = System.nanoTime();
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            onLoop(() -> dropped(ws, "closed by the server with code " + statusCode + (reason == null || reason.isEmpty() ? "" : " (" + reason + ")")));
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            onLoop(() -> dropped(ws, "failed: " + KernelDiedException.describe(error)));
        }
    }
}

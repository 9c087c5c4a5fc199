package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.Channel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reaches a kernel bound on Unix sockets ({@code "transport": "ipc"}, a sandboxed kernel without
 * network) from JeroMQ, which only emulates ipc over TCP: one loopback TCP listener per channel,
 * each accepted connection copied byte for byte to a Unix connection of its own to the kernel's
 * socket (JeroMQ may reconnect, and each connection is a ZMTP session of its own). All relays
 * share one thread ({@link RelayLoop}); each is closed when its kernel goes, its listeners and
 * connections with it.
 *
 * <p>Listeners bind 127.0.0.1 only, to ports of the OS's choosing: held from the start, so no other
 * process can take them between a probe and a bind. A listener holds at most
 * {@value #MAX_CONNECTIONS} connections at once (JeroMQ uses one per channel); past that, the oldest is closed for the newest.
 */
final class IpcRelay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IpcRelay.class);
    static final int MAX_CONNECTIONS = 8;
    /** Delay before a listener whose accept failed (out of file descriptors) listens again, rather than spinning. */
    private static final long ACCEPT_PAUSE_MILLIS = 100;
    private static final InetAddress LOOPBACK = loopback();

    private final RelayLoop loop;
    private final ConnectionInfo clientSide;
    private final List<Listener> listeners;
    private final AtomicBoolean closed = new AtomicBoolean();

    private IpcRelay(RelayLoop loop, ConnectionInfo clientSide, List<Listener> listeners) {
        this.loop = loop;
        this.clientSide = clientSide;
        this.listeners = listeners;
    }

    /** Listens for each channel of {@code kernelSide} (an ipc connection), relaying to its sockets. */
    static IpcRelay open(ConnectionInfo kernelSide) throws IOException {
        if (!"ipc".equals(kernelSide.transport())) {
            throw new IllegalArgumentException("an ipc relay needs an ipc connection, got " + kernelSide.transport());
        }
        RelayLoop loop = RelayLoop.acquire();
        List<Listener> listeners = new ArrayList<>();
        Map<Channel, Integer> ports = new EnumMap<>(Channel.class);
        try {
            for (Channel channel : Channel.values()) {
                ServerSocketChannel server = ServerSocketChannel.open();
                try {
                    server.bind(new InetSocketAddress(LOOPBACK, 0), MAX_CONNECTIONS);
                    server.configureBlocking(false);
                } catch (IOException | RuntimeException e) {
                    server.close();
                    throw e;
                }
                String socket = kernelSide.ip() + "-" + kernelSide.ports().get(channel);
                listeners.add(new Listener(loop, channel, server, UnixDomainSocketAddress.of(socket)));
                ports.put(channel, server.socket().getLocalPort());
            }
        } catch (IOException | RuntimeException e) {
            for (Listener l : listeners) {
                l.closeServer();
            }
            loop.release();
            throw e;
        }
        // Connections wait in the backlog until the loop has registered them.
        loop.execute(() -> listeners.forEach(Listener::register));
        return new IpcRelay(loop, kernelSide.onLoopback(ports), listeners);
    }

    /** The loop that carries this relay's bytes (tests crash it). */
    RelayLoop loop() {
        return loop;
    }

    /** What a client connects to: loopback tcp on the relay's ports, with the kernel's key. */
    ConnectionInfo clientSide() {
        return clientSide;
    }

    /** Connections relayed now, over all channels (a snapshot taken on the loop; -1 if it does not answer in 5 s). */
    int connections() {
        CompletableFuture<Integer> count = new CompletableFuture<>();
        loop.execute(() -> count.complete(listeners.stream().mapToInt(l -> l.connections.size()).sum()));
        try {
            return count.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * Closes the listeners and every connection, on the loop, waiting for it (2 s at most); directly
     * if the loop is gone. Its ports are free once this returns. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (!loop.isDead() && !loop.inLoop()) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            loop.execute(() -> {
                try {
                    listeners.forEach(Listener::close);
                    loop.flushClosed(); // the ports are free when close() returns
                } finally {
                    loop.release();
                    done.complete(null);
                }
            });
            try {
                done.get(2, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                LOG.warn("ipc relay thread did not close a relay within 2 s ({}); closing its listeners here", e.toString());
            }
        }
        // A dead loop closed its connections as it died; a stuck one is past helping. The listeners must go in any case.
        listeners.forEach(Listener::closeServer);
    }

    @Override
    public String toString() {
        return "ipc relay " + clientSide.ports().values();
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        } catch (java.net.UnknownHostException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    /** One channel's listener: accepts, and relays each connection to the kernel's socket. Loop thread, except closeServer. */
    private static final class Listener implements RelayLoop.Handler {
        private final RelayLoop loop;
        private final String name;
        private final ServerSocketChannel server;
        private final UnixDomainSocketAddress socket;
        private final int bufferBytes;
        /** In arrival order: when full, the oldest goes (see {@link #ready}). */
        private final Set<RelayConnection> connections = new LinkedHashSet<>();
        private SelectionKey key;
        private boolean closed;

        Listener(RelayLoop loop, Channel channel, ServerSocketChannel server, UnixDomainSocketAddress socket) {
            this.loop = loop;
            this.name = "relay " + channel.wireName() + " 127.0.0.1:" + server.socket().getLocalPort() + " to " + socket.getPath();
            this.server = server;
            this.socket = socket;
            this.bufferBytes = channel == Channel.IOPUB || channel == Channel.SHELL
                    ? RelayConnection.BUFFER_BYTES : RelayConnection.SMALL_BUFFER_BYTES;
        }

        void register() {
            if (closed) {
                return;
            }
            try {
                key = server.register(loop.selector(), SelectionKey.OP_ACCEPT, this);
            } catch (IOException e) {
                LOG.warn("{}: cannot listen: {}", name, e.toString());
            }
        }

        @Override
        public void ready(SelectionKey k) {
            SocketChannel tcp;
            try {
                while ((tcp = server.accept()) != null) {
                    if (connections.size() >= MAX_CONNECTIONS) {
                        // Full: the oldest connection goes, not the new one. Anyone on this host can connect to a
                        // loopback port; refusing newcomers would let such a squatter hold every slot, and
                        // JeroMQ's reconnect after a lost connection would then never get through.
                        connections.iterator().next().close();
                    }
                    String connection = name + " from port " + tcp.socket().getPort();
                    RelayConnection c = RelayConnection.open(connection, loop.selector(), tcp, socket, bufferBytes, connections::remove);
                    if (c != null) {
                        connections.add(c);
                    }
                }
            } catch (IOException e) {
                pause(e);
            }
        }

        @Override
        public void fail(Throwable error) {
            // Never closed for a failure: its kernel would be left unreachable but alive. Tried again shortly.
            pause(error);
        }

        private void pause(Throwable why) {
            LOG.warn("{}: accept failed ({}); listening again in {} ms", name, why.toString(), ACCEPT_PAUSE_MILLIS);
            if (key != null && key.isValid()) {
                key.interestOps(0);
                loop.schedule(ACCEPT_PAUSE_MILLIS, () -> {
                    if (!closed && key.isValid()) {
                        key.interestOps(SelectionKey.OP_ACCEPT);
                    }
                });
            }
        }

        void close() {
            closed = true;
            closeServer();
            for (RelayConnection c : List.copyOf(connections)) {
                c.close();
            }
            connections.clear();
        }

        void closeServer() {
            try {
                server.close();
            } catch (IOException ignored) {
                // Closed either way.
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }
}

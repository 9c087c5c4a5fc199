package dev.carpo.pool.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP forwarder in front of a real server, for the one fault a server will not give on
 * demand: a connection dropped in mid-life. {@link #cutAll()} drops every open connection;
 * {@link #blackholeAll()} silences them; {@link #refuse} makes it close new ones at once.
 */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    /** Connections whose bytes are now dropped in both directions, neither forwarded nor closed. */
    private final java.util.Set<Socket> blackholed = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean refusing;
    private volatile boolean silent;
    private volatile int accepted;

    TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "tcp-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + listener.getLocalPort() + "/");
    }

    int accepted() {
        return accepted;
    }

    void refuse(boolean refuse) {
        this.refusing = refuse;
    }

    /** With {@code true}, new connections are accepted and then neither answered nor closed (a hung server); closed by {@link #cutAll}. */
    void silent(boolean silent) {
        this.silent = silent;
    }

    /** Closes every connection now open through the proxy (both sides); one being linked meanwhile is linked first, then closed. */
    void cutAll() {
        synchronized (open) {
            open.forEach(TcpProxy::closeQuietly);
            open.clear();
        }
    }

    /**
     * From now on the bytes of every connection open now go nowhere, in both directions, and nothing is
     * closed: the far end of each looks alive and silent (a hung host, or a NAT that forgot the flow).
     * New connections are forwarded as usual.
     */
    void blackholeAll() {
        synchronized (open) {
            blackholed.addAll(open);
        }
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                accepted++;
                if (refusing) {
                    closeQuietly(client);
                    continue;
                }
                synchronized (open) {
                    open.add(client);
                    if (silent) {
                        continue;
                    }
                    Socket server;
                    try {
                        server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                    } catch (IOException refused) {
                        closeQuietly(client); // the client sees its connection closed
                        open.remove(client);
                        continue;
                    }
                    open.add(server);
                    pump(client, server);
                    pump(server, client);
                }
            } catch (IOException e) {
                // the listener was closed
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (blackholed.contains(from)) {
                        continue;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException closed) {
                // one side went away
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "tcp-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        cutAll();
    }
}

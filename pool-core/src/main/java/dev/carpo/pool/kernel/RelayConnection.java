package dev.carpo.pool.kernel;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * One accepted TCP connection and the Unix connection made for it, bytes copied both ways on the
 * {@link RelayLoop} thread. ZMTP is the same bytes on any stream, so nothing is parsed.
 *
 * <p>Bounded: {@value #BUFFER_BYTES} bytes per direction ({@value #SMALL_BUFFER_BYTES} on the
 * quiet channels). A side is read only while the buffer
 * toward its peer has room, so a peer that stops reading stops the other side (TCP, or the Unix
 * socket, then pushes back on the sender); nothing here grows. Each direction is written as soon
 * as it is read, so a round trip costs no extra wake-up. When either side ends, what it sent is
 * delivered and both are closed; the client (JeroMQ) reconnects, and gets a fresh Unix connection.
 */
final class RelayConnection implements RelayLoop.Handler {
    /** Per direction on the channels that carry floods (iopub) and replies (shell). */
    static final int BUFFER_BYTES = 64 * 1024;
    /** Per direction on control, stdin and heartbeat, which carry one small message at a time: 304 KiB a kernel in all. */
    static final int SMALL_BUFFER_BYTES = 8 * 1024;

    private final String name;
    private final SocketChannel tcp;
    private final SocketChannel unix;
    private final java.util.function.Consumer<RelayConnection> onClose;
    private final SelectionKey tcpKey;
    private final SelectionKey unixKey;
    /** tcp to unix, and unix to tcp; each in fill mode (position = bytes held). */
    private final ByteBuffer up;
    private final ByteBuffer down;
    private boolean connected;
    private boolean tcpEnded;
    private boolean unixEnded;
    private boolean closed;

    private RelayConnection(String name, Selector selector, SocketChannel tcp, SocketChannel unix, boolean connected, int bufferBytes,
                            java.util.function.Consumer<RelayConnection> onClose)
            throws IOException {
        this.name = name;
        this.up = ByteBuffer.allocate(bufferBytes);
        this.down = ByteBuffer.allocate(bufferBytes);
        this.tcp = tcp;
        this.unix = unix;
        this.onClose = onClose;
        this.connected = connected;
        this.tcpKey = tcp.register(selector, 0, this);
        this.unixKey = unix.register(selector, 0, this);
        settle();
    }

    /**
     * Relays {@code tcp} to the Unix socket at {@code address}, or closes it at once when there is
     * no one there yet (the kernel is still starting, or gone): JeroMQ then connects again, as it
     * would after a refused TCP connect. Returns the connection, or {@code null} when none was made;
     * {@code onClose} is told when it closes, however that comes about. Loop thread only.
     */
    static RelayConnection open(String name, Selector selector, SocketChannel tcp, UnixDomainSocketAddress address, int bufferBytes,
                                java.util.function.Consumer<RelayConnection> onClose) {
        SocketChannel unix = null;
        try {
            tcp.configureBlocking(false);
            tcp.setOption(StandardSocketOptions.TCP_NODELAY, true); // ZMTP's small frames must not wait for Nagle
            // The socket's directory is writable by the kernel: a link planted there must not make this
            // JVM (root, maybe) connect to some other socket of the host. Only a socket itself is followed.
            java.nio.file.attribute.BasicFileAttributes node = java.nio.file.Files.readAttributes(address.getPath(),
                    java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (!node.isOther()) {
                throw new IOException(address.getPath() + " is not a socket");
            }
            unix = SocketChannel.open(StandardProtocolFamily.UNIX);
            unix.configureBlocking(false);
            boolean connected = unix.connect(address);
            return new RelayConnection(name, selector, tcp, unix, connected, bufferBytes, onClose);
        } catch (IOException | RuntimeException notThere) {
            closeQuietly(tcp);
            closeQuietly(unix);
            return null;
        }
    }

    @Override
    public void ready(SelectionKey key) throws IOException {
        if (!connected) {
            if (key != unixKey || !unix.finishConnect()) {
                return;
            }
            connected = true;
        } else if (key == tcpKey) {
            if (key.isReadable() && tcp.read(up) < 0) {
                tcpEnded = true;
            }
        } else if (key.isReadable() && unix.read(down) < 0) {
            unixEnded = true;
        }
        flush(up, unix);
        flush(down, tcp);
        settle();
    }

    private static void flush(ByteBuffer buffer, SocketChannel to) throws IOException {
        if (buffer.position() == 0) {
            return;
        }
        buffer.flip();
        try {
            to.write(buffer);
        } finally {
            buffer.compact();
        }
    }

    /** Closes once a side has ended and what it sent is through; else reads where there is room, writes what is held. */
    private void settle() {
        if ((tcpEnded && up.position() == 0) || (unixEnded && down.position() == 0)) {
            close();
            return;
        }
        if (!connected) {
            unixKey.interestOps(SelectionKey.OP_CONNECT);
            return;
        }
        tcpKey.interestOps((!tcpEnded && up.hasRemaining() ? SelectionKey.OP_READ : 0) | (down.position() > 0 ? SelectionKey.OP_WRITE : 0));
        unixKey.interestOps((!unixEnded && down.hasRemaining() ? SelectionKey.OP_READ : 0) | (up.position() > 0 ? SelectionKey.OP_WRITE : 0));
    }

    @Override
    public void fail(Throwable error) {
        close();
    }

    /** Closes both sides; idempotent. Loop thread only. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(tcp);
        closeQuietly(unix);
        onClose.accept(this);
    }

    private static void closeQuietly(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closed either way.
            }
        }
    }

    @Override
    public String toString() {
        return name;
    }
}

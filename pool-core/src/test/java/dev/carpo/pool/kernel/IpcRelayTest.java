package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.protocol.Channel;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ipc relay on its own, without kernels: a test's Unix server stands in for the kernel's socket
 * and plain sockets for JeroMQ. Every read has a socket timeout, every wait a bound.
 */
class IpcRelayTest {
    private static final Duration T = Duration.ofSeconds(10);
    private static final int READ_TIMEOUT_MS = 10_000;

    @TempDir
    Path dir;
    ConnectionInfo kernelSide;
    final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void prefix() {
        kernelSide = ConnectionInfo.ipc(dir.resolve("k"), "test");
    }

    @AfterEach
    void close() throws Exception {
        RelayLoop.beforeHandle = null;
        for (AutoCloseable c : closeables) {
            c.close();
        }
        await("the relay thread ends with the last relay").atMost(T).until(() -> relayThreads() == 0);
    }

    private IpcRelay relay() throws IOException {
        IpcRelay relay = IpcRelay.open(kernelSide);
        closeables.add(relay);
        return relay;
    }

    private ServerSocketChannel kernelSocket(Channel channel) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(kernelSide.ip() + "-" + kernelSide.ports().get(channel)));
        closeables.add(server);
        return server;
    }

    private Socket client(IpcRelay relay, Channel channel) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", relay.clientSide().ports().get(channel)), READ_TIMEOUT_MS);
        s.setSoTimeout(READ_TIMEOUT_MS);
        closeables.add(s);
        return s;
    }

    /** The kernel side's end of the next relayed connection (blocking accept, bounded by a future's timeout). */
    private static SocketChannel accept(ServerSocketChannel server) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return server.accept();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).get(10, TimeUnit.SECONDS);
    }

    static long relayThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(RelayLoop.THREAD_NAME)).count();
    }

    private static byte[] readN(InputStream in, int n) throws IOException {
        return in.readNBytes(n);
    }

    private static byte[] readN(SocketChannel ch, int n) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(n);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        ch.configureBlocking(true);
        return CompletableFuture.supplyAsync(() -> {
            try {
                while (buf.hasRemaining() && System.nanoTime() < deadline) {
                    if (ch.read(buf) < 0) {
                        break;
                    }
                }
                return java.util.Arrays.copyOf(buf.array(), buf.position());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).get(15, TimeUnit.SECONDS);
    }

    @Test
    void bytesCrossBothWaysOnEachChannelAndEachConnectionGetsItsOwnUnixConnection() throws Exception {
        IpcRelay relay = relay();
        assertThat(relay.clientSide().transport()).isEqualTo("tcp");
        assertThat(relay.clientSide().ip()).isEqualTo("127.0.0.1");
        assertThat(relay.clientSide().key()).isEqualTo(kernelSide.key());
        for (Channel channel : Channel.values()) {
            ServerSocketChannel kernel = kernelSocket(channel);
            Socket a = client(relay, channel);
            Socket b = client(relay, channel);
            SocketChannel ka = accept(kernel);
            SocketChannel kb = accept(kernel);
            closeables.add(ka);
            closeables.add(kb);
            a.getOutputStream().write(("from a on " + channel).getBytes());
            b.getOutputStream().write(("from b on " + channel).getBytes());
            // Which Unix connection is a's is not known: each must carry one client's bytes whole.
            String first = new String(readN(ka, ("from a on " + channel).length()));
            String second = new String(readN(kb, ("from b on " + channel).length()));
            assertThat(List.of(first, second)).containsExactlyInAnyOrder("from a on " + channel, "from b on " + channel);
            SocketChannel toA = first.startsWith("from a") ? ka : kb;
            toA.write(ByteBuffer.wrap("reply".getBytes()));
            assertThat(new String(readN(a.getInputStream(), 5))).isEqualTo("reply");
        }
    }

    @Test
    void aConnectionWithNoKernelSocketYetIsClosedSoTheClientRetries() throws Exception {
        IpcRelay relay = relay();
        Socket early = client(relay, Channel.SHELL);
        assertThat(early.getInputStream().read()).as("closed: nothing listens on the Unix side").isEqualTo(-1);

        ServerSocketChannel kernel = kernelSocket(Channel.SHELL);
        Socket later = client(relay, Channel.SHELL);
        SocketChannel k = accept(kernel);
        closeables.add(k);
        later.getOutputStream().write(42);
        assertThat(readN(k, 1)).containsExactly(42);
    }

    @Test
    void aLinkPlantedInPlaceOfTheKernelsSocketIsNotFollowed() throws Exception {
        IpcRelay relay = relay();
        // Some other socket of the host, and a link to it where the kernel's shell socket should be.
        ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        other.bind(UnixDomainSocketAddress.of(dir.resolve("other.sock")));
        closeables.add(other);
        java.nio.file.Files.createSymbolicLink(Path.of(kernelSide.ip() + "-" + kernelSide.ports().get(Channel.SHELL)), dir.resolve("other.sock"));
        Socket client = client(relay, Channel.SHELL);
        assertThat(client.getInputStream().read()).as("closed, not relayed to the link's target").isEqualTo(-1);
        other.configureBlocking(false);
        assertThat(other.accept()).as("nothing connected to the other socket").isNull();
    }

    @Test
    void whenAListenersConnectionsAreAllTakenTheOldestGoesForTheNewest() throws Exception {
        IpcRelay relay = relay();
        ServerSocketChannel kernel = kernelSocket(Channel.SHELL);
        List<Socket> squatters = new ArrayList<>();
        for (int i = 0; i < IpcRelay.MAX_CONNECTIONS; i++) {
            squatters.add(client(relay, Channel.SHELL));
            closeables.add(accept(kernel));
        }
        Socket newest = client(relay, Channel.SHELL);
        SocketChannel k = accept(kernel);
        closeables.add(k);
        newest.getOutputStream().write(7);
        assertThat(readN(k, 1)).as("the newest connection is relayed").containsExactly(7);
        assertThat(squatters.get(0).getInputStream().read()).as("the oldest was closed for it").isEqualTo(-1);
    }

    @Test
    void theKernelSideClosingClosesTheClientAfterItsBytes() throws Exception {
        IpcRelay relay = relay();
        ServerSocketChannel kernel = kernelSocket(Channel.IOPUB);
        Socket client = client(relay, Channel.IOPUB);
        SocketChannel k = accept(kernel);
        k.write(ByteBuffer.wrap("last words".getBytes()));
        k.close();
        assertThat(new String(readN(client.getInputStream(), 10))).isEqualTo("last words");
        assertThat(client.getInputStream().read()).isEqualTo(-1);
        await().atMost(T).until(() -> relay.connections() == 0);
    }

    /**
     * A kernel that stops reading stops the client: the relay holds 64 KiB a direction, the sockets
     * their own buffers, and then the client's writes block. Once the kernel reads again, every byte
     * arrives, in order.
     */
    @Test
    void aSideThatStopsReadingStopsTheOtherAndNothingIsLost() throws Exception {
        IpcRelay relay = relay();
        ServerSocketChannel kernel = kernelSocket(Channel.SHELL);
        SocketChannel client = SocketChannel.open(new InetSocketAddress("127.0.0.1", relay.clientSide().ports().get(Channel.SHELL)));
        closeables.add(client);
        SocketChannel k = accept(kernel);
        closeables.add(k);
        client.configureBlocking(false);
        byte[] data = new byte[64 << 20];
        new Random(7).nextBytes(data);
        ByteBuffer out = ByteBuffer.wrap(data);
        int stalls = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        // Write until the client cannot write for 200 consecutive tries spaced 1 ms apart: pushed back.
        while (out.hasRemaining() && stalls < 200 && System.nanoTime() < deadline) {
            if (client.write(out) == 0) {
                stalls++;
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            } else {
                stalls = 0;
            }
        }
        int accepted = out.position();
        assertThat(out.hasRemaining()).as("the client was pushed back before writing 64 MiB").isTrue();
        // Socket buffers on loopback autotune to a few MiB; the relay adds 64 KiB. Far below 64 MiB either way.
        assertThat(accepted).isLessThan(16 << 20);

        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        sent.update(data, 0, data.length);
        CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
            try {
                MessageDigest got = MessageDigest.getInstance("SHA-256");
                ByteBuffer in = ByteBuffer.allocate(1 << 16);
                long total = 0;
                while (total < data.length) {
                    in.clear();
                    int n = k.read(in);
                    if (n < 0) {
                        break;
                    }
                    got.update(in.array(), 0, n);
                    total += n;
                }
                return got.digest();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        client.configureBlocking(true);
        while (out.hasRemaining()) {
            client.write(out);
        }
        assertThat(received.get(60, TimeUnit.SECONDS)).isEqualTo(sent.digest());
    }

    @Test
    void closingARelayFreesItsPortsAndClosesItsConnections() throws Exception {
        IpcRelay relay = IpcRelay.open(kernelSide);
        ServerSocketChannel kernel = kernelSocket(Channel.CONTROL);
        int port = relay.clientSide().ports().get(Channel.CONTROL);
        Socket client = client(relay, Channel.CONTROL);
        SocketChannel k = accept(kernel);
        closeables.add(k);

        relay.close();

        assertThat(client.getInputStream().read()).isEqualTo(-1);
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
        assertThat(relay.clientSide().ports().values()).allSatisfy(p ->
                assertThatThrownBy(() -> new Socket("127.0.0.1", p).close()).isInstanceOf(ConnectException.class));
        relay.close(); // idempotent
    }

    @Test
    void oneThreadServesEveryRelayAndEndsWithTheLast() throws Exception {
        List<IpcRelay> relays = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            kernelSide = ConnectionInfo.ipc(dir.resolve("k" + i), "test");
            relays.add(relay());
        }
        assertThat(relayThreads()).isEqualTo(1);
        for (IpcRelay r : relays) {
            r.close();
        }
        await().atMost(T).until(() -> relayThreads() == 0);
        kernelSide = ConnectionInfo.ipc(dir.resolve("again"), "test");
        relay();
        assertThat(relayThreads()).as("a relay after the thread ended starts a new one").isEqualTo(1);
    }

    /** Listeners, connections on both sides and the loop's selector: all closed once the relays are, however many there were. */
    @Test
    void closedRelaysLeaveNoFileDescriptorsBehind() throws Exception {
        List<AutoCloseable> ours = new ArrayList<>();
        relayWithTraffic("warm-up", ours).close(); // classes and the selector provider loaded once, outside the count
        for (AutoCloseable c : ours) {
            c.close();
        }
        ours.clear();
        await().atMost(T).until(() -> relayThreads() == 0);
        long before = openFds();
        List<IpcRelay> relays = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            relays.add(relayWithTraffic("fd" + i, ours));
        }
        assertThat(openFds()).isGreaterThan(before + 5 * 5);
        for (IpcRelay r : relays) {
            r.close();
        }
        for (AutoCloseable c : ours) {
            c.close();
        }
        await().atMost(T).until(() -> relayThreads() == 0);
        await().atMost(T).untilAsserted(() -> assertThat(openFds()).isLessThanOrEqualTo(before));
    }

    /** A relay with one connection relayed on each channel; the test's ends of them go to {@code ours}. */
    private IpcRelay relayWithTraffic(String name, List<AutoCloseable> ours) throws Exception {
        kernelSide = ConnectionInfo.ipc(dir.resolve(name), "test");
        IpcRelay relay = IpcRelay.open(kernelSide);
        for (Channel channel : Channel.values()) {
            try (ServerSocketChannel kernel = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                kernel.bind(UnixDomainSocketAddress.of(kernelSide.ip() + "-" + kernelSide.ports().get(channel)));
                Socket client = new Socket("127.0.0.1", relay.clientSide().ports().get(channel));
                client.setSoTimeout(READ_TIMEOUT_MS);
                SocketChannel k = accept(kernel);
                client.getOutputStream().write(1);
                assertThat(readN(k, 1)).containsExactly(1);
                ours.add(client);
                ours.add(k);
            }
        }
        await().atMost(T).until(() -> relay.connections() == Channel.values().length);
        return relay;
    }

    private static long openFds() throws IOException {
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    @Test
    void aThrowableOnOneConnectionClosesThatConnectionOnly() throws Exception {
        IpcRelay relay = relay();
        ServerSocketChannel kernel = kernelSocket(Channel.SHELL);
        Socket victim = client(relay, Channel.SHELL);
        SocketChannel kv = accept(kernel);
        closeables.add(kv);
        Socket bystander = client(relay, Channel.SHELL);
        SocketChannel kb = accept(kernel);
        closeables.add(kb);
        Thread before = relayThread();
        int victimPort = victim.getLocalPort();
        AtomicBoolean thrown = new AtomicBoolean();
        RelayLoop.beforeHandle = handler -> {
            if (handler.endsWith("from port " + victimPort) && thrown.compareAndSet(false, true)) {
                throw new OutOfMemoryError("injected into one relayed connection");
            }
        };
        victim.getOutputStream().write(1);
        assertThat(victim.getInputStream().read()).as("the victim's connection is closed").isEqualTo(-1);
        assertThat(thrown).isTrue();

        bystander.getOutputStream().write(7);
        assertThat(readN(kb, 1)).containsExactly(7);
        kb.write(ByteBuffer.wrap(new byte[] {8}));
        assertThat(bystander.getInputStream().read()).isEqualTo(8);
        assertThat(relayThread()).as("the same relay thread").isSameAs(before);
    }

    @Test
    void aDeadRelayThreadClosesItsChannelsAndTheNextRelayGetsANewOne() throws Exception {
        IpcRelay relay = relay();
        kernelSocket(Channel.SHELL);
        Socket client = client(relay, Channel.SHELL);
        Thread first = relayThread();
        relay.loop().crashForTest(new StackOverflowError("injected into the relay thread"));
        await().atMost(T).until(() -> !first.isAlive());
        assertThat(client.getInputStream().read()).isEqualTo(-1);
        int port = relay.clientSide().ports().get(Channel.SHELL);
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);

        kernelSide = ConnectionInfo.ipc(dir.resolve("next"), "test");
        IpcRelay next = relay();
        ServerSocketChannel kernel = kernelSocket(Channel.SHELL);
        Socket c = client(next, Channel.SHELL);
        SocketChannel k = accept(kernel);
        closeables.add(k);
        c.getOutputStream().write(5);
        assertThat(readN(k, 1)).containsExactly(5);
        assertThat(relayThread()).isNotSameAs(first);
    }

    private static Thread relayThread() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(RelayLoop.THREAD_NAME) && t.isAlive())
                .findFirst().orElseThrow();
    }
}

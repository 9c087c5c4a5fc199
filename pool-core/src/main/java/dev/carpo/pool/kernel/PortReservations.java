package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.Channel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for kernels, as jupyter_client's {@code LocalPortCache}: a port handed to one
 * kernel is never handed to another in this JVM until that kernel releases it, so kernels started
 * at the same time cannot collide with each other.
 *
 * <p>Ports are drawn at random from outside the OS's ephemeral range
 * ({@code /proc/sys/net/ipv4/ip_local_port_range}), unlike jupyter_client's bind-to-0. A port from
 * that range can be given by the OS to the client end of any loopback connection (ours to another
 * kernel, ZeroMQ's reconnect attempts) between our probe and the kernel's bind: the kernel then
 * dies with EADDRINUSE, or our socket's reconnect to a not-yet-bound port connects to itself (TCP
 * simultaneous open). Outside that range neither can happen; only another process choosing the same
 * port on purpose can still interfere, and the kernel then fails with its own error.
 */
public final class PortReservations {
    private static final Set<Integer> RESERVED = new HashSet<>();
    /** Null when the host's ephemeral range leaves no room outside it. */
    private static final PortRange RANGE = PortRange.outsideEphemeralOrNull(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
    private static final int PROBES_PER_PORT = 200;

    private PortReservations() {
    }

    /** Five distinct free ports, one per channel, held until {@link #release}. */
    public static Map<Channel, Integer> reserve() {
        Map<Channel, Integer> ports = new EnumMap<>(Channel.class);
        synchronized (RESERVED) {
            try {
                for (Channel channel : Channel.values()) {
                    int port = freePort();
                    RESERVED.add(port);
                    ports.put(channel, port);
                }
            } catch (RuntimeException e) {
                RESERVED.removeAll(ports.values());
                throw e;
            }
        }
        return ports;
    }

    /** Makes a kernel's ports available again. */
    public static void release(Collection<Integer> ports) {
        synchronized (RESERVED) {
            RESERVED.removeAll(ports);
        }
    }

    /** The range kernel ports are drawn from, or null (ports from bind(0)). */
    static PortRange range() {
        return RANGE;
    }

    static int reservedCount() {
        synchronized (RESERVED) {
            return RESERVED.size();
        }
    }

    private static int freePort() {
        if (RANGE == null) {
            return anyFreePort(); // no room outside the ephemeral range on this host: as jupyter_client does
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < PROBES_PER_PORT; i++) {
            int port = random.nextInt(RANGE.low(), RANGE.high() + 1);
            if (!RESERVED.contains(port) && bindable(port)) {
                return port;
            }
        }
        throw new UncheckedIOException(new IOException("no free loopback port for a kernel after "
                + PROBES_PER_PORT + " tries in " + RANGE));
    }

    private static int anyFreePort() {
        for (int i = 0; i < PROBES_PER_PORT; i++) {
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                if (!RESERVED.contains(probe.getLocalPort())) {
                    return probe.getLocalPort();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot find a free loopback port for a kernel", e);
            }
        }
        throw new UncheckedIOException(new IOException("no free loopback port for a kernel after " + PROBES_PER_PORT + " tries"));
    }

    private static boolean bindable(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException inUse) {
            return false;
        }
    }

    /** An inclusive port range. */
    record PortRange(int low, int high) {
        private static final int FLOOR = 10000;
        private static final int MIN_WIDTH = 1000;

        /**
         * The ports below the ephemeral range down to 10000 (clear of well-known and common service
         * ports), or, when that is too narrow, those above it; Linux's default ephemeral range is
         * 32768-60999. Without a readable file, that default is assumed.
         */
        static PortRange outsideEphemeral(Path ipLocalPortRange) {
            int ephemeralLow = 32768;
            int ephemeralHigh = 60999;
            try {
                String[] bounds = Files.readString(ipLocalPortRange).trim().split("\\s+");
                ephemeralLow = Integer.parseInt(bounds[0]);
                ephemeralHigh = Integer.parseInt(bounds[1]);
            } catch (IOException | RuntimeException unreadable) {
                // Not Linux, or an unusual /proc: keep the default.
            }
            if (ephemeralLow - FLOOR >= MIN_WIDTH) {
                return new PortRange(FLOOR, ephemeralLow - 1);
            }
            if (65535 - ephemeralHigh >= MIN_WIDTH) {
                return new PortRange(ephemeralHigh + 1, 65535);
            }
            throw new IllegalStateException("the ephemeral port range " + ephemeralLow + "-" + ephemeralHigh
                    + " (" + ipLocalPortRange + ") leaves no room for kernel ports outside it; narrow it");
        }

        static PortRange outsideEphemeralOrNull(Path ipLocalPortRange) {
            try {
                return outsideEphemeral(ipLocalPortRange);
            } catch (IllegalStateException noRoom) {
                return null;
            }
        }

        @Override
        public String toString() {
            return "ports " + low + "-" + high;
        }
    }
}

package dev.carpo.pool.kernel;

import dev.carpo.pool.protocol.Channel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Free loopback ports for kernels, as jupyter_client's {@code LocalPortCache}: a port handed to one
 * kernel is never handed to another in this JVM until that kernel releases it, so kernels started
 * at the same time cannot collide with each other. (Another process may still take a port between
 * our probe and the kernel's bind; that start then fails with the kernel's own error.)
 */
public final class PortReservations {
    private static final Set<Integer> RESERVED = new HashSet<>();

    private PortReservations() {
    }

    /** Five distinct free ports, one per channel, held until {@link #release}. */
    public static Map<Channel, Integer> reserve() {
        List<ServerSocket> probes = new ArrayList<>();
        Map<Channel, Integer> ports = new EnumMap<>(Channel.class);
        try {
            synchronized (RESERVED) {
                for (Channel channel : Channel.values()) {
                    int port;
                    do {
                        // Probes stay open until all five are chosen, so the OS cannot hand out one port twice.
                        ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                        probes.add(probe);
                        port = probe.getLocalPort();
                    } while (RESERVED.contains(port));
                    ports.put(channel, port);
                }
                RESERVED.addAll(ports.values());
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find free loopback ports for a kernel", e);
        } finally {
            for (ServerSocket probe : probes) {
                try {
                    probe.close();
                } catch (IOException ignored) {
                    // Closing a listening probe cannot lose data.
                }
            }
        }
    }

    /** Makes a kernel's ports available again. */
    public static void release(Collection<Integer> ports) {
        synchronized (RESERVED) {
            RESERVED.removeAll(ports);
        }
    }

    static int reservedCount() {
        synchronized (RESERVED) {
            return RESERVED.size();
        }
    }
}

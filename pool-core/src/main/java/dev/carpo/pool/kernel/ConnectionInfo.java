package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.Signer;
import dev.carpo.pool.protocol.WireCodec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * What a client needs to reach a kernel: transport, address, the five ports, and the signing key.
 * It is what a Jupyter connection file holds.
 *
 * <p>Example: {@code ConnectionInfo info = ConnectionInfo.loopback(PortReservations.reserve(), "python3");
 * Path file = info.write(runtimeDir);}
 *
 * @param transport {@code tcp}, or {@code ipc} (Unix sockets) for a sandboxed kernel without network
 * @param ip the address the kernel binds, {@code 127.0.0.1} for local kernels; for {@code ipc}, the
 *        path prefix of its sockets ({@code <ip>-<port>}, as jupyter_client, ipykernel, IRkernel and xeus name them)
 * @param ports the port of each channel (for {@code ipc}, the suffix of its socket's path)
 * @param key the HMAC key, as written in the file
 * @param signatureScheme {@code hmac-sha256}
 * @param kernelName the kernelspec name, informational
 */
public record ConnectionInfo(
        String transport, String ip, Map<Channel, Integer> ports, String key, String signatureScheme, String kernelName) {

    private static final SecureRandom RANDOM = new SecureRandom();

    public ConnectionInfo {
        ports = Map.copyOf(ports);
        for (Channel c : Channel.values()) {
            if (!ports.containsKey(c)) {
                throw new IllegalArgumentException("connection info has no " + c.portField());
            }
        }
    }

    /** Loopback tcp on the given ports with a fresh 256-bit random key. */
    public static ConnectionInfo loopback(Map<Channel, Integer> ports, String kernelName) {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return new ConnectionInfo("tcp", "127.0.0.1", ports, HexFormat.of().formatHex(key), Signer.SCHEME, kernelName);
    }

    /** Unix sockets {@code <prefix>-1} … {@code <prefix>-5} with a fresh 256-bit random key. */
    static ConnectionInfo ipc(java.nio.file.Path prefix, String kernelName) {
        Map<Channel, Integer> ports = new EnumMap<>(Channel.class);
        for (Channel c : Channel.values()) {
            ports.put(c, c.ordinal() + 1);
        }
        return new ConnectionInfo("ipc", prefix.toString(), ports, loopback(ports, kernelName).key, Signer.SCHEME, kernelName);
    }

    /** The same key and kernel on loopback tcp {@code ports}: how carpo reaches an ipc kernel through its relay. */
    ConnectionInfo onLoopback(Map<Channel, Integer> tcpPorts) {
        return new ConnectionInfo("tcp", "127.0.0.1", tcpPorts, key, signatureScheme, kernelName);
    }

    /** The ZeroMQ endpoint of one channel, such as {@code tcp://127.0.0.1:50123} or {@code ipc:///tmp/carpo-x1y2z3w4/k-1}. */
    public String endpoint(Channel channel) {
        return transport + "://" + ip + ("ipc".equals(transport) ? "-" : ":") + ports.get(channel);
    }

    /** A signer for this connection's key. */
    public Signer signer() {
        Signer.requireSupported(signatureScheme);
        return new Signer(key.getBytes(StandardCharsets.UTF_8));
    }

    /** The connection file's JSON. */
    public ObjectNode toJson() {
        ObjectNode node = WireCodec.mapper().createObjectNode();
        for (Channel c : Channel.values()) {
            node.put(c.portField(), ports.get(c));
        }
        node.put("ip", ip);
        node.put("key", key);
        node.put("transport", transport);
        node.put("signature_scheme", signatureScheme);
        node.put("kernel_name", kernelName == null ? "" : kernelName);
        return node;
    }

    /**
     * Writes a new connection file {@code kernel-<id>.json} in {@code dir}, created with mode 0600
     * so the key is never readable by others, not even for an instant.
     */
    public Path write(Path dir, String kernelId) throws IOException {
        JupyterPaths.ensurePrivateDir(dir);
        Path file = dir.resolve("kernel-" + kernelId + ".json");
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            WireCodec.mapper().writerWithDefaultPrettyPrinter().writeValue(out, toJson());
        }
        return file;
    }

    /** Reads a connection file, such as one written by {@code jupyter kernel}. */
    public static ConnectionInfo read(Path file) throws IOException {
        JsonNode root = WireCodec.mapper().readTree(Files.readAllBytes(file));
        Map<Channel, Integer> ports = new EnumMap<>(Channel.class);
        for (Channel c : Channel.values()) {
            JsonNode port = root.get(c.portField());
            if (port == null || !port.canConvertToInt()) {
                throw new IOException("connection file " + file + ": field '" + c.portField() + "' is missing or not a port");
            }
            ports.put(c, port.asInt());
        }
        return new ConnectionInfo(
                root.path("transport").asText("tcp"),
                root.path("ip").asText("127.0.0.1"),
                ports,
                root.path("key").asText(""),
                root.path("signature_scheme").asText(Signer.SCHEME),
                root.path("kernel_name").asText(""));
    }
}

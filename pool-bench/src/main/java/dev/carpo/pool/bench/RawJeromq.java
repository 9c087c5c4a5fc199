package dev.carpo.pool.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.kernel.ConnectionInfo;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.protocol.Channel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * The Java floor of {@code compare/}: a single-threaded JeroMQ client, the Java twin of
 * {@code anchors.py}'s raw pyzmq one. One thread signs and sends an execute_request on shell and
 * polls shell and iopub until the reply and iopub idle have both come: no I/O loop, no callback
 * executor, no pool; what is left is what JeroMQ (its own I/O thread included) and the kernel cost.
 * The kernel is started from its kernelspec's argv with a connection file written here, so nothing
 * of carpo's client touches it.
 *
 * <pre>
 * java -cp pool-bench/target/benchmarks.jar dev.carpo.pool.bench.RawJeromq --spec xpython --jobs 2000 --warmup 2000
 * </pre>
 */
public final class RawJeromq implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] DELIMITER = "<IDS|MSG>".getBytes(StandardCharsets.US_ASCII);

    private final Process process;
    private final Path dir;
    private final ZContext context = new ZContext(1);
    private final ZMQ.Socket shell;
    private final ZMQ.Socket iopub;
    private final ZMQ.Poller poller;
    private final Mac mac;
    private final String session = UUID.randomUUID().toString();

    private RawJeromq(KernelSpec spec) throws IOException, GeneralSecurityException {
        Map<Channel, Integer> ports = new EnumMap<>(Channel.class);
        for (Channel c : Channel.values()) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                ports.put(c, s.getLocalPort());
            }
        }
        ConnectionInfo info = ConnectionInfo.loopback(ports, spec.name());
        dir = Files.createTempDirectory("carpo-raw-");
        Path file = info.write(dir, "raw");
        List<String> argv = new ArrayList<>();
        for (String arg : spec.argv()) {
            argv.add(arg.replace("{connection_file}", file.toString()));
        }
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(dir.resolve("kernel.log").toFile());
        builder.environment().putAll(spec.env());
        process = builder.start();
        mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(info.key().getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        shell = context.createSocket(SocketType.DEALER);
        shell.setIdentity(session.getBytes(StandardCharsets.US_ASCII));
        shell.connect(info.endpoint(Channel.SHELL));
        iopub = context.createSocket(SocketType.SUB);
        iopub.subscribe(new byte[0]);
        iopub.connect(info.endpoint(Channel.IOPUB));
        poller = context.createPoller(2);
        poller.register(shell, ZMQ.Poller.POLLIN);
        poller.register(iopub, ZMQ.Poller.POLLIN);
    }

    /** Sends kernel_info until a reply and some iopub message have come, as jupyter_client's wait_for_ready. */
    private void awaitReady(long timeoutMs) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        boolean replied = false;
        boolean iopubSeen = false;
        while (!(replied && iopubSeen)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("kernel not ready within " + timeoutMs + " ms");
            }
            send("kernel_info_request", JSON.createObjectNode());
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
            while (System.nanoTime() < until && !(replied && iopubSeen)) {
                poller.poll(100);
                if (poller.pollin(0) && receive(shell) != null) {
                    replied = true;
                }
                if (poller.pollin(1) && receive(iopub) != null) {
                    iopubSeen = true;
                }
            }
        }
    }

    private String send(String type, ObjectNode content) throws IOException {
        String msgId = UUID.randomUUID().toString();
        ObjectNode header = JSON.createObjectNode().put("msg_id", msgId).put("session", session).put("username", "bench")
                .put("msg_type", type).put("version", "5.3").put("date", "2026-01-01T00:00:00Z");
        byte[][] parts = {JSON.writeValueAsBytes(header), "{}".getBytes(StandardCharsets.US_ASCII),
                "{}".getBytes(StandardCharsets.US_ASCII), JSON.writeValueAsBytes(content)};
        shell.send(DELIMITER, ZMQ.SNDMORE);
        shell.send(sign(parts), ZMQ.SNDMORE);
        for (int i = 0; i < parts.length; i++) {
            shell.send(parts[i], i < parts.length - 1 ? ZMQ.SNDMORE : 0);
        }
        return msgId;
    }

    private byte[] sign(byte[][] parts) {
        for (byte[] p : parts) {
            mac.update(p);
        }
        return HexFormat.of().formatHex(mac.doFinal()).getBytes(StandardCharsets.US_ASCII);
    }

    /** One message's frames from the delimiter on, its signature checked; null when none is waiting. */
    private byte[][] receive(ZMQ.Socket socket) throws IOException {
        List<byte[]> frames = new ArrayList<>(8);
        byte[] frame = socket.recv(ZMQ.DONTWAIT);
        if (frame == null) {
            return null;
        }
        frames.add(frame);
        while (socket.hasReceiveMore()) {
            frames.add(socket.recv(0));
        }
        int i = 0;
        while (!Arrays.equals(frames.get(i), DELIMITER)) {
            i++;
        }
        byte[][] parts = frames.subList(i + 2, i + 6).toArray(new byte[0][]);
        if (!Arrays.equals(sign(parts), frames.get(i + 1))) {
            throw new IOException("bad signature");
        }
        return parts;
    }

    /** Starts the kernel of {@code spec} and waits until it answers. */
    static RawJeromq start(KernelSpec spec) throws IOException, GeneralSecurityException {
        RawJeromq client = new RawJeromq(spec);
        try {
            client.awaitReady(120_000);
            return client;
        } catch (IOException e) {
            client.close();
            throw e;
        }
    }

    /** {@code execute("1")}, for a benchmark's Runnable. */
    void executeUnchecked() {
        try {
            execute("1");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** One execute_request, complete when its execute_reply and its iopub idle have both arrived. */
    void execute(String code) throws IOException {
        ObjectNode content = JSON.createObjectNode().put("code", code).put("silent", false).put("store_history", true)
                .put("allow_stdin", false).put("stop_on_error", false);
        content.putObject("user_expressions");
        String msgId = send("execute_request", content);
        boolean replied = false;
        boolean idle = false;
        while (!(replied && idle)) {
            if (poller.poll(30_000) <= 0) {
                throw new IOException("no answer within 30 s");
            }
            byte[][] m;
            while (poller.pollin(0) && (m = receive(shell)) != null) {
                replied |= msgId.equals(JSON.readTree(m[1]).path("msg_id").asText());
            }
            while (poller.pollin(1) && (m = receive(iopub)) != null) {
                JsonNode parent = JSON.readTree(m[1]);
                if (msgId.equals(parent.path("msg_id").asText()) && "status".equals(JSON.readTree(m[0]).path("msg_type").asText())) {
                    idle |= "idle".equals(JSON.readTree(m[3]).path("execution_state").asText());
                }
            }
        }
    }

    /**
     * The most batched JeroMQ client there can be: every request sent at once, spread over the
     * kernels (which queue them), then one thread drains all their sockets until every reply and
     * every idle has come. Its CPU per job is the floor for a client that must read a kernel's
     * messages at all; returns the wall time in ms.
     */
    static double burst(List<RawJeromq> clients, int jobs) throws IOException {
        ObjectNode content = JSON.createObjectNode().put("code", "1").put("silent", false).put("store_history", true)
                .put("allow_stdin", false).put("stop_on_error", false);
        content.putObject("user_expressions");
        long t0 = System.nanoTime();
        for (int i = 0; i < jobs; i++) {
            clients.get(i % clients.size()).send("execute_request", content);
        }
        ZMQ.Poller all = clients.get(0).context.createPoller(2 * clients.size());
        for (RawJeromq c : clients) {
            all.register(c.shell, ZMQ.Poller.POLLIN);
            all.register(c.iopub, ZMQ.Poller.POLLIN);
        }
        int replies = 0;
        int idles = 0;
        while (replies < jobs || idles < jobs) {
            if (all.poll(30_000) <= 0) {
                throw new IOException("no answer within 30 s (" + replies + " replies, " + idles + " idles of " + jobs + ")");
            }
            for (int k = 0; k < clients.size(); k++) {
                RawJeromq c = clients.get(k);
                byte[][] m;
                while ((m = c.receive(c.shell)) != null) {
                    replies += "execute_reply".equals(JSON.readTree(m[0]).path("msg_type").asText()) ? 1 : 0;
                }
                while ((m = c.receive(c.iopub)) != null) {
                    if ("status".equals(JSON.readTree(m[0]).path("msg_type").asText())
                            && "execute_request".equals(JSON.readTree(m[1]).path("msg_type").asText())
                            && "idle".equals(JSON.readTree(m[3]).path("execution_state").asText())) {
                        idles++;
                    }
                }
            }
        }
        all.close();
        return (System.nanoTime() - t0) / 1e6;
    }

    @Override
    public void close() {
        context.close();
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // A temporary directory left behind is not worth failing a benchmark for.
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static void burstMain(String spec, int kernels, int jobs, int warmup) throws Exception {
        List<RawJeromq> clients = new ArrayList<>();
        try {
            for (int k = 0; k < kernels; k++) {
                clients.add(start(BenchKernels.spec(spec)));
            }
            burst(clients, warmup);
            long cpu0 = processCpuNanos();
            double wallMs = burst(clients, jobs);
            double cpuMs = (processCpuNanos() - cpu0) / 1e6 / jobs;
            System.out.printf(Locale.ROOT, "{\"impl\": \"raw-jeromq\", \"workload\": \"burst jobs/s\", \"spec\": \"%s\", \"n\": %d, "
                    + "\"value\": %.1f, \"unit\": \"jobs/s\", \"client_cpu_ms_per_job\": %.4f}%n",
                    spec, kernels, jobs / (wallMs / 1000), cpuMs);
        } finally {
            clients.forEach(RawJeromq::close);
        }
    }

    public static void main(String[] argv) throws Exception {
        String spec = "python3";
        int jobs = 1000;
        int warmup = 1000;
        int burstKernels = 0;
        for (int i = 0; i + 1 < argv.length; i += 2) {
            switch (argv[i]) {
                case "--spec" -> spec = argv[i + 1];
                case "--jobs" -> jobs = Integer.parseInt(argv[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(argv[i + 1]);
                case "--burst" -> burstKernels = Integer.parseInt(argv[i + 1]);
                default -> throw new IllegalArgumentException("usage: RawJeromq [--spec S] [--jobs J] [--warmup W] [--burst KERNELS]");
            }
        }
        if (burstKernels > 0) {
            burstMain(spec, burstKernels, jobs, warmup);
            System.exit(0);
        }
        try (RawJeromq client = start(BenchKernels.spec(spec))) {
            for (int i = 0; i < warmup; i++) {
                client.execute("1");
            }
            double[] ms = new double[jobs];
            long cpu0 = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
            for (int i = 0; i < jobs; i++) {
                long t = System.nanoTime();
                client.execute("1");
                ms[i] = (System.nanoTime() - t) / 1e6;
            }
            double cpuMs = (((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime() - cpu0) / 1e6 / jobs;
            double mean = Arrays.stream(ms).average().orElse(0);
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "{\"impl\": \"raw-jeromq\", \"workload\": \"round trip p50\", \"spec\": \"%s\", \"n\": 1, "
                    + "\"value\": %.4f, \"unit\": \"ms\", \"p99\": %.4f, \"mean\": %.4f, \"client_cpu_ms_per_job\": %.4f}%n",
                    spec, ms[jobs / 2], ms[Math.min(jobs - 1, (int) (jobs * 0.99))], mean, cpuMs);
        }
        System.exit(0);
    }
}

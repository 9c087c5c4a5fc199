package dev.carpo.pool.kernel;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.awaitility.Awaitility;

/**
 * A real Jupyter Server (Debian's python3-jupyter-server) on loopback with a random token, as the
 * gateway tests' far end: started with {@code --ServerApp.port=0}, its port read from the kernel's
 * table of listening sockets, and stopped with every kernel it runs. {@link #startTls} serves
 * {@code https}/{@code wss} with the certificate given ({@link SelfSignedCert} makes one).
 */
public final class JupyterServer implements AutoCloseable {
    private final Process process;
    private final Path root;
    private final String token;
    private final int port;
    private final boolean tls;

    private JupyterServer(Process process, Path root, String token, int port, boolean tls) {
        this.process = process;
        this.root = root;
        this.token = token;
        this.port = port;
        this.tls = tls;
    }

    /** {@code python3 -m jupyter_server}, plus a thread that sends the server SIGTERM once its parent is gone. */
    private static final String SERVER_WITH_PARENT_WATCH = String.join("\n",
            "import os, signal, sys, threading, time",
            "parent = os.getppid()",
            "def watch():",
            "    while os.getppid() == parent:",
            "        time.sleep(0.5)",
            "    os.kill(os.getpid(), signal.SIGTERM)",
            "threading.Thread(target=watch, daemon=True).start()",
            "sys.argv = ['jupyter_server'] + sys.argv[1:]",
            "from jupyter_server.serverapp import main",
            "sys.exit(main())");

    public static JupyterServer start(Path dir) throws IOException {
        return start(dir, List.of(), false);
    }

    /** A server on {@code https://127.0.0.1:port/} with this certificate (PEM) and its private key (unencrypted PEM). */
    public static JupyterServer startTls(Path dir, Path certFile, Path keyFile) throws IOException {
        return start(dir, List.of("--ServerApp.certfile=" + certFile, "--ServerApp.keyfile=" + keyFile), true);
    }

    private static JupyterServer start(Path dir, List<String> extraArgs, boolean tls) throws IOException {
        Prerequisites.requirePythonModule("jupyter_server", "python3-jupyter-server");
        String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(24));
        Path root = Files.createDirectories(dir.resolve("root"));
        // The server watches its parent (this JVM): if the test JVM is killed, the server ends too, with its kernels.
        List<String> argv = new ArrayList<>(List.of("/usr/bin/python3", "-c", SERVER_WITH_PARENT_WATCH, "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.token=" + token,
                "--ServerApp.root_dir=" + root, "--ServerApp.open_browser=False"));
        argv.addAll(extraArgs);
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("JUPYTER_RUNTIME_DIR", dir.resolve("runtime").toString());
        pb.environment().put("JUPYTER_CONFIG_DIR", dir.resolve("config").toString());
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile());
        Process process = pb.start();
        int[] port = new int[1];
        try {
            Awaitility.await("Jupyter Server listening (log: " + dir.resolve("server.log") + ")")
                    .atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("Jupyter Server exited: " + Files.readString(dir.resolve("server.log")));
                        }
                        port[0] = listeningPort(process.pid()).orElse(0);
                        return port[0] > 0 && Files.readString(dir.resolve("server.log")).contains("is running at");
                    });
        } catch (RuntimeException e) {
            process.destroyForcibly();
            throw e;
        }
        return new JupyterServer(process, root, token, port[0], tls);
    }

    public URI url() {
        return URI.create((tls ? "https" : "http") + "://127.0.0.1:" + port + "/");
    }

    public String token() {
        return token;
    }

    public int port() {
        return port;
    }

    public Path root() {
        return root;
    }

    public Gateway gateway() {
        return Gateway.of(url(), token);
    }

    /** The gateway with its own TLS context (for a {@link #startTls} server). */
    public Gateway gateway(SSLContext context) {
        return Gateway.builder(url()).token(token).sslContext(context).build();
    }

    /** The pid of the process running the server's kernel {@code kernelId} (its argv names its connection file). */
    public static Optional<ProcessHandle> kernelProcess(String kernelId) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains("kernel-" + kernelId + ".json"))
                .findFirst();
    }

    /** The TCP port a process listens on, from /proc: its socket inodes matched against /proc/net/tcp. */
    private static Optional<Integer> listeningPort(long pid) throws IOException {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            fds.forEach(fd -> {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException gone) {
                    // closed meanwhile
                }
            });
        }
        List<String> lines = Files.readAllLines(Path.of("/proc/net/tcp"));
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.trim().split("\\s+");
            // local_address rem_address st ... inode: state 0A is LISTEN, local 0100007F is 127.0.0.1.
            if (f.length > 9 && f[3].equals("0A") && f[1].startsWith("0100007F:") && inodes.contains(f[9])) {
                return Optional.of(Integer.parseInt(f[1].substring(9), 16));
            }
        }
        return Optional.empty();
    }

    /** SIGTERM (the server shuts its kernels down), then SIGKILL if it lingers. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}

package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sandboxed real kernels ({@link KernelSandbox} on bubblewrap), attacked from inside: the network,
 * the host's files, writes, a daemon that tries to outlive its kernel. Each attack is also run
 * without the sandbox where that can succeed, so a sandbox that let it through would fail the test.
 * Loopback only: the listeners are the test's own, on 127.0.0.1.
 */
class SandboxTest {
    static final Duration T = Duration.ofSeconds(30);
    static final KernelSandbox NO_NETWORK = KernelSandbox.builder().build();

    @TempDir
    Path runtimeDir;
    /** Under /tmp on the host, and listed nowhere: the sandbox's /tmp is its own. */
    @TempDir
    Path hostTmp;
    /** Outside /tmp (under the build's target/), listed nowhere. */
    Path hostOther;
    static KernelRuntime runtime;
    final List<Kernel> kernels = new ArrayList<>();
    final List<Path> kernelDirs = new ArrayList<>();
    /** Set by the test that makes bwrap missing: only it makes the JVM probe bwrap again. */
    boolean bwrapOverridden;

    @BeforeAll
    static void startRuntime() {
        Prerequisites.requireBwrap(Containment.pidNamespace());
        runtime = KernelRuntime.create();
    }

    @AfterAll
    static void stopRuntime() {
        if (runtime != null) {
            runtime.close();
            assertThat(runtime.kernels()).isEmpty();
        }
    }

    @BeforeEach
    void makeDirs() throws IOException {
        hostOther = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "sandbox-test-");
    }

    @AfterEach
    void stopKernels() throws IOException {
        RelayLoop.beforeHandle = null;
        Containment.usePidNamespace(null);
        if (bwrapOverridden) {
            PidNamespace.overrideProgram(null);
        }
        for (Kernel k : kernels) {
            k.close();
        }
        for (Path dir : kernelDirs) {
            await().atMost(T).untilAsserted(() -> assertThat(dir).as("a kernel's private directory is removed with it").doesNotExist());
        }
        try (var files = Files.walk(hostOther)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Kernel start(KernelSpec spec, KernelSandbox sandbox, UnaryOperator<KernelOptions.Builder> more) throws Exception {
        KernelOptions.Builder b = KernelOptions.builder().runtimeDir(runtimeDir).startupTimeout(Duration.ofSeconds(90)).sandbox(sandbox);
        Kernel k = runtime.start(spec, more.apply(b).build()).get(120, TimeUnit.SECONDS);
        kernels.add(k);
        if ("ipc".equals(k.connectionInfo().transport()) || sandbox != null) {
            kernelDirs.add(k.connectionFile().getParent());
        }
        return k;
    }

    private Kernel sandboxed(KernelSandbox sandbox) throws Exception {
        return start(TestKernels.python(), sandbox, b -> b);
    }

    private Kernel unsandboxed() throws Exception {
        return start(TestKernels.python(), null, b -> b);
    }

    private static String run(Kernel k, String code) {
        KernelExecution r = k.execute(code, T);
        assertThat(r.status()).as("%s\n%s", r.error(), r.stderr()).isEqualTo(ReplyStatus.OK);
        return r.stdout().trim();
    }

    private static String py(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    // ---- network ----

    @Test
    void aTcpConnectToTheHostsLoopbackFailsInsideAndSucceedsWithoutTheSandbox() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            String code = """
                    import socket
                    try:
                        socket.create_connection(('127.0.0.1', %d), timeout=5).close()
                        print('connected')
                    except OSError as e:
                        print('failed', type(e).__name__)""".formatted(listener.getLocalPort());
            assertThat(run(unsandboxed(), code)).isEqualTo("connected");
            Kernel inside = sandboxed(NO_NETWORK);
            assertThat(run(inside, code)).isEqualTo("failed ConnectionRefusedError");
            assertThat(run(inside, "import socket; print([n for _, n in socket.if_nameindex()])"))
                    .as("its own network namespace: loopback only").isEqualTo("['lo']");
        }
    }

    @Test
    void urlopenOfAnyAddressFailsInside() throws Exception {
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 10);
        http.createContext("/", exchange -> {
            byte[] body = "hello from the host".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        http.start();
        try {
            String code = """
                    import urllib.request
                    for url in %s:
                        try:
                            print(url, urllib.request.urlopen(url, timeout=5).read().decode())
                        except Exception as e:
                            print(url, 'failed', type(e).__name__)""";
            String local = "http://127.0.0.1:" + http.getAddress().getPort() + "/";
            assertThat(run(unsandboxed(), code.formatted("['" + local + "']"))).isEqualTo(local + " hello from the host");
            assertThat(run(sandboxed(NO_NETWORK), code.formatted("['" + local + "', 'http://example.com/', 'https://1.1.1.1/']")).lines())
                    .containsExactly(local + " failed URLError", "http://example.com/ failed URLError", "https://1.1.1.1/ failed URLError");
        } finally {
            http.stop(0);
        }
    }

    @Test
    void withNetworkTheKernelSharesTheHostsLoopbackOnTcpChannels() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Kernel k = sandboxed(KernelSandbox.builder().network(true).build());
            assertThat(k.connectionInfo().transport()).isEqualTo("tcp");
            assertThat(run(k, "import socket; socket.create_connection(('127.0.0.1', %d), timeout=5).close(); print('connected')"
                    .formatted(listener.getLocalPort()))).isEqualTo("connected");
            assertThat(run(k, "import os; print(os.path.exists(%s))".formatted(py(hostOther)))).isEqualTo("False");
        }
    }

    // ---- files ----

    @Test
    void filesOutsideTheAllowedPathsAndTheCallersHomeAreInvisible() throws Exception {
        Path secretTmp = Files.writeString(hostTmp.resolve("secret.txt"), "tmp secret");
        Path secretOther = Files.writeString(hostOther.resolve("secret.txt"), "other secret");
        Path home = Path.of(System.getProperty("user.home"));
        Prerequisites.requireMachine(Files.isDirectory(home), "the JVM's home directory " + home, "a JDK installed in a directory");
        String code = """
                import os
                for p in [%s, %s]:
                    try:
                        print(open(p).read())
                    except OSError as e:
                        print(type(e).__name__)
                print(os.path.exists(%s), os.environ['HOME'])""".formatted(py(secretTmp), py(secretOther), py(home));
        assertThat(run(unsandboxed(), code).lines().limit(2)).containsExactly("tmp secret", "other secret");
        assertThat(run(sandboxed(NO_NETWORK), code).lines())
                .containsExactly("FileNotFoundError", "FileNotFoundError", "False /tmp");
    }

    @Test
    void etcsSecretsAreHiddenEvenFromRoot() throws Exception {
        String code = """
                import os
                try:
                    print(len(open('/etc/shadow').read()))
                except OSError as e:
                    print(type(e).__name__)
                print(os.listdir('/etc/ssh') if os.path.isdir('/etc/ssh') else 'absent')
                print(os.path.exists('/etc/passwd'))""";
        List<String> inside = run(sandboxed(NO_NETWORK), code).lines().toList();
        if (Files.exists(Path.of("/etc/shadow"))) {
            // /dev/null bound over it, on a nodev mount: it cannot even be opened.
            assertThat(inside.get(0)).isIn("0", "PermissionError");
        }
        // ssh_config (world-readable) is there; the host's private keys (0600) are not.
        assertThat(inside.get(1)).doesNotContainPattern("ssh_host_[a-z0-9]+_key'");
        assertThat(inside.get(2)).as("the rest of /etc is there").isEqualTo("True");
        if ("root".equals(System.getProperty("user.name")) && Files.exists(Path.of("/etc/shadow"))) {
            // Without the sandbox, root reads it: the test above can fail.
            assertThat(run(unsandboxed(), code).lines().findFirst().orElseThrow()).isNotIn("0", "PermissionError");
        }
    }

    @Test
    void theEnvironmentIsCleanButForThePoolsAndTheSpecsVariables() throws Exception {
        Kernel k = start(TestKernels.python(), NO_NETWORK, b -> b.env("CARPO_TEST_VAR", "passed"));
        String names = run(k, "import os, json; print(json.dumps(sorted(n for n in os.environ if n != 'PWD' or os.environ[n] != os.getcwd())))");
        List<String> inside = List.of(names.replaceAll("[\\[\\]\" ]", "").split(","));
        assertThat(inside).contains("CARPO_TEST_VAR", "PATH", "HOME", "JPY_PARENT_PID");
        // Of this JVM's variables only these may be there (ipykernel sets TERM, PAGER, CLICOLOR, GIT_PAGER itself;
        // bwrap sets PWD to where it starts the kernel, left out above when it says just that).
        List<String> allowed = List.of("PATH", "HOME", "LANG", "LANGUAGE", "TERM", "PAGER", "CLICOLOR", "GIT_PAGER", "MPLBACKEND");
        assertThat(inside).filteredOn(System.getenv()::containsKey)
                .allMatch(n -> allowed.contains(n) || n.startsWith("LC_"), "only locale, PATH and HOME come from the JVM");
        assertThat(run(k, "import os; print(os.environ['CARPO_TEST_VAR'], os.environ['HOME'])")).isEqualTo("passed /tmp");
    }

    @Test
    void writesOutsideTheWritablePathsDoNotReachTheHost() throws Exception {
        Path writable = Files.createDirectory(hostOther.resolve("writable"));
        Path readOnly = Files.createDirectory(hostOther.resolve("read-only"));
        Files.writeString(readOnly.resolve("data.txt"), "read me");
        Path unlistedTmp = Files.createDirectory(hostTmp.resolve("unlisted"));
        Path unlistedOther = Files.createDirectory(hostOther.resolve("unlisted"));
        String tag = "carpo-sandbox-probe-" + System.nanoTime();
        Kernel k = sandboxed(KernelSandbox.builder().readOnly(readOnly).writable(writable).build());
        String code = """
                def attempt(path):
                    try:
                        with open(path, 'w') as f:
                            f.write('from the kernel')
                        return 'written'
                    except OSError as e:
                        return type(e).__name__
                for p in [%s, %s, '/usr/%s', '/etc/%s', %s, '/tmp/%s', %s]:
                    print(attempt(p))
                print(open(%s).read())""".formatted(py(unlistedTmp.resolve(tag)), py(unlistedOther.resolve(tag)), tag, tag,
                py(readOnly.resolve("data.txt")), tag, py(writable.resolve(tag)), py(readOnly.resolve("data.txt")));
        assertThat(run(k, code).lines()).containsExactly(
                "FileNotFoundError", "FileNotFoundError", "OSError", "OSError", "OSError", "written", "written", "read me");
        assertThat(unlistedTmp.resolve(tag)).doesNotExist();
        assertThat(unlistedOther.resolve(tag)).doesNotExist();
        assertThat(Path.of("/usr", tag)).doesNotExist();
        assertThat(Path.of("/etc", tag)).doesNotExist();
        assertThat(readOnly.resolve("data.txt")).hasContent("read me");
        assertThat(Path.of("/tmp", tag)).as("the sandbox's /tmp is its own").doesNotExist();
        assertThat(writable.resolve(tag)).hasContent("from the kernel");
        assertThat(run(k, "print(open('/tmp/%s').read())".formatted(tag))).isEqualTo("from the kernel");
    }

    @Test
    void evenRootCannotRemountTheSystemWritable() throws Exception {
        Kernel k = sandboxed(NO_NETWORK);
        String code = """
                import subprocess
                r = subprocess.run(['/usr/bin/mount', '-o', 'remount,rw', '/usr'], capture_output=True)
                print(r.returncode != 0, open('/proc/self/status').read().split('CapEff:')[1].split()[0])""";
        assertThat(run(k, code)).isEqualTo("True 0000000000000000");
    }

    // ---- processes ----

    @Test
    void aDoubleForkedDaemonDiesWithItsKernel() throws Exception {
        Path writable = Files.createDirectory(hostOther.resolve("pids"));
        Path pidFile = writable.resolve("daemon.pid");
        String marker = "7" + (100_000 + new Random().nextInt(800_000)) + ".5";
        Kernel k = sandboxed(KernelSandbox.builder().writable(writable).build());
        Path script = Files.writeString(writable.resolve("daemon.py"), String.join("\n",
                "import os",
                "if os.fork() == 0:",
                "    os.setsid()",
                "    if os.fork() == 0:",
                "        open(" + py(pidFile) + ", 'w').write(str(os.getpid()))",
                "        os.execv('/usr/bin/sleep', ['sleep', '" + marker + "'])",
                "    os._exit(0)",
                "os.wait()",
                ""));
        run(k, "import subprocess; subprocess.run(['/usr/bin/python3', " + py(script) + "], timeout=30)");
        await().atMost(T).until(() -> Files.exists(pidFile) && !Files.readString(pidFile).isBlank()
                && TestKernels.pidsWith(marker).size() == 1);
        long hostPid = TestKernels.pidsWith(marker).get(0);
        // The pid file holds its pid in the kernel's namespace; /proc's NSpid ties it to the host's.
        String nsPids = Files.readAllLines(Path.of("/proc", Long.toString(hostPid), "status")).stream()
                .filter(l -> l.startsWith("NSpid:")).findFirst().orElseThrow();
        String[] ns = nsPids.trim().split("\\s+");
        assertThat(ns[ns.length - 1]).isEqualTo(Files.readString(pidFile).trim());

        k.close();

        await().atMost(Duration.ofSeconds(15)).until(() -> ProcessHandle.of(hostPid).map(p -> !p.isAlive()).orElse(true));
    }

    @Test
    void pidInterruptHeartbeatAndSigkillWorkInside() throws Exception {
        Kernel k = start(TestKernels.python(), NO_NETWORK, b -> b.heartbeatInterval(Duration.ofMillis(200)));
        ProcessHandle kernel = ProcessHandle.of(k.pid()).orElseThrow();
        assertThat(kernel.info().arguments().orElseThrow()).contains(k.connectionFile().toString());
        ProcessHandle bwrapInit = kernel.parent().orElseThrow();
        assertThat(bwrapInit.info().command().orElse("")).endsWith("bwrap");

        CountDownLatch running = new CountDownLatch(1);
        CompletableFuture<KernelExecution> sleeping = k.execute(ExecuteRequest.builder("import time\nprint('go', flush=True)\ntime.sleep(60)")
                .listener(new OutputListener() {
                    @Override
                    public void onStream(String name, String text) {
                        running.countDown();
                    }
                }).build());
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
        long t0 = System.nanoTime();
        k.interrupt().get(10, TimeUnit.SECONDS);
        KernelExecution interrupted = sleeping.get(30, TimeUnit.SECONDS);
        assertThat(interrupted.status()).isEqualTo(ReplyStatus.ERROR);
        assertThat(interrupted.error().ename()).isEqualTo("KeyboardInterrupt");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
        assertThat(run(k, "print('after the interrupt')")).isEqualTo("after the interrupt");

        kernel.destroyForcibly();
        KernelDiedException death = k.onDeath().get(30, TimeUnit.SECONDS);
        assertThat(death.exitCode()).isEqualTo(137);
        await().atMost(T).until(() -> !bwrapInit.isAlive());
    }

    @Test
    void aStoppedKernelIsDeclaredDeadByItsHeartbeatThroughTheRelay() throws Exception {
        Kernel k = start(TestKernels.python(), NO_NETWORK, b -> b.heartbeatInterval(Duration.ofMillis(200))
                .heartbeatTimeout(Duration.ofSeconds(2)));
        assertThat(run(k, "print('alive')")).isEqualTo("alive");
        Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(k.pid())).start();
        assertThat(stop.waitFor(10, TimeUnit.SECONDS)).isTrue();
        KernelDiedException death = k.onDeath().get(30, TimeUnit.SECONDS);
        assertThat(death.getMessage()).contains("stopped answering heartbeats");
    }

    // ---- other kernels ----

    @Test
    void irkernelRunsAJobInsideWithoutNetwork() throws Exception {
        Kernel k = start(TestKernels.specOrSkip("ir"), NO_NETWORK, b -> b);
        assertThat(k.connectionInfo().transport()).isEqualTo("ipc");
        KernelExecution r = k.execute("cat(Sys.getenv('HOME'), file.exists(" + py(hostOther) + "), 6 * 7, '\\n')", T);
        assertThat(r.status()).isEqualTo(ReplyStatus.OK);
        assertThat(r.stdout().trim()).isEqualTo("/tmp FALSE 42");
    }

    @Test
    void xeusPythonRunsAJobInsideWithoutNetwork() throws Exception {
        Kernel k = start(TestKernels.specOrSkip("xpython"), NO_NETWORK, b -> b);
        assertThat(k.connectionInfo().transport()).isEqualTo("ipc");
        KernelExecution r = k.execute("import os\nprint(os.environ['HOME'], os.path.exists(" + py(hostOther) + "))\n6 * 7", T);
        assertThat(r.status()).isEqualTo(ReplyStatus.OK);
        assertThat(r.stdout().trim()).isEqualTo("/tmp False");
        assertThat(r.text()).isEqualTo("42");
    }

    /** A kernel whose program lives outside the system (a virtualenv here) sees its prefix and its spec's directory, read-only. */
    @Test
    void aVirtualenvsKernelRunsWithItsPrefixReadOnly() throws Exception {
        Path venv = hostOther.resolve("venv");
        Process make = new ProcessBuilder("/usr/bin/python3", "-m", "venv", "--without-pip", "--system-site-packages", venv.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        boolean made = make.waitFor(60, TimeUnit.SECONDS) && make.exitValue() == 0;
        make.destroyForcibly();
        Prerequisites.require(made, "python3 -m venv", "python3-venv");
        Path specDir = Files.createDirectory(hostOther.resolve("venv-spec"));
        Files.writeString(specDir.resolve("kernel.json"), """
                {"argv": ["%s", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "venv", "language": "python"}
                """.formatted(venv.resolve("bin").resolve("python")));
        Kernel k = start(KernelSpec.read(specDir.resolve("kernel.json")), NO_NETWORK, b -> b);
        String out = run(k, """
                import sys, os
                print(sys.prefix)
                print(os.path.exists(%s))
                try:
                    open(os.path.join(sys.prefix, 'x'), 'w')
                except OSError as e:
                    print(type(e).__name__, e.errno)""".formatted(py(specDir.resolve("kernel.json"))));
        assertThat(out.lines()).containsExactly(venv.toString(), "True", "OSError 30");
        assertThat(venv.resolve("x")).doesNotExist();
    }

    // ---- scratch directory ----

    @Test
    void theScratchDirectoryIsPrivateWritableTheCwdAndGoesWithTheKernel() throws Exception {
        for (KernelSandbox sandbox : new KernelSandbox[] {NO_NETWORK, null}) {
            Kernel k = start(TestKernels.python(), sandbox, b -> b.scratchDirectory(true));
            String[] out = run(k, """
                    import os
                    open('hello.txt', 'w').write('hi')
                    print(os.getcwd())
                    print(os.environ['CARPO_SCRATCH'])
                    print(sorted(os.listdir('.')))""").split("\n");
            Path scratch = Path.of(out[0]);
            assertThat(out[1]).as("CARPO_SCRATCH is the cwd").isEqualTo(out[0]);
            assertThat(out[2]).isEqualTo("['hello.txt']");
            assertThat(scratch.resolve("hello.txt")).as("the host sees the same directory").hasContent("hi");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(scratch))).isEqualTo("rwx------");
            k.close();
            await().atMost(T).untilAsserted(() -> assertThat(scratch).as("removed with the kernel (%s)", sandbox).doesNotExist());
            assertThat(scratch.getParent()).doesNotExist();
        }
    }

    @Test
    void aWorkingDirectoryIsWritableAndTheCwdAndTheScratchStaysInTheEnvironment() throws Exception {
        Path wd = Files.createDirectory(hostOther.resolve("work"));
        Kernel k = start(TestKernels.python(), NO_NETWORK, b -> b.scratchDirectory(true).workingDirectory(wd));
        String[] out = run(k, "import os\nopen('out.txt', 'w').write('done')\nprint(os.getcwd())\nprint(os.environ['CARPO_SCRATCH'])").split("\n");
        assertThat(out[0]).isEqualTo(wd.toString());
        assertThat(wd.resolve("out.txt")).hasContent("done");
        assertThat(Path.of(out[1])).isDirectory();
    }

    // ---- the relay ----

    @Test
    void megabytesOfOutputCrossTheRelayWholeAndBounded() throws Exception {
        String code = """
                import sys, hashlib
                h = hashlib.sha256()
                for i in range(64):
                    line = ''.join(chr(97 + (i + j) % 26) for j in range(65536))
                    sys.stdout.write(line)
                    sys.stdout.flush()
                    h.update(line.encode())
                h.hexdigest()""";
        Kernel roomy = start(TestKernels.python(), NO_NETWORK, b -> b.maxMessageBytes(16L << 20));
        KernelExecution whole = roomy.execute(ExecuteRequest.builder(code).maxOutputBytes(8L << 20).timeout(Duration.ofSeconds(120)).build())
                .get(120, TimeUnit.SECONDS);
        assertThat(whole.truncated()).isFalse();
        assertThat(whole.stdout()).hasSize(4 << 20);
        String digest = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(whole.stdout().getBytes(StandardCharsets.UTF_8)));
        assertThat(whole.text()).isEqualTo("'" + digest + "'");

        // Under the default limits: 1 MiB kept, head and tail; and a 10 MB message is refused unread, the iopub
        // socket reopened through the relay, and the kernel serves on.
        Kernel bounded = sandboxed(NO_NETWORK);
        KernelExecution cut = bounded.execute(code, Duration.ofSeconds(120));
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.stdout().length()).isLessThanOrEqualTo((int) ExecuteRequest.DEFAULT_MAX_OUTPUT_BYTES + 100);
        KernelExecution refused = bounded.execute("import sys\nsys.stdout.write('x' * 10_000_000)\nprint()", Duration.ofSeconds(120));
        assertThat(refused.truncated()).isTrue();
        assertThat(refused.droppedBytes()).isGreaterThanOrEqualTo(KernelOptions.DEFAULT_MAX_MESSAGE_BYTES);
        assertThat(run(bounded, "print(6 * 7)")).isEqualTo("42");
    }

    @Test
    void inputRequestsCrossTheRelay() throws Exception {
        Kernel k = sandboxed(NO_NETWORK);
        KernelExecution r = k.execute(ExecuteRequest.builder("name = input('who? ')\nprint('hi', name)")
                .input((prompt, password) -> "Ada").timeout(T).build()).get(40, TimeUnit.SECONDS);
        assertThat(r.stdout()).isEqualTo("hi Ada\n");
    }

    @Test
    void oneRelayThreadServesEveryKernelAndEndsWithTheLast() throws Exception {
        List<CompletableFuture<Kernel>> starts = new ArrayList<>();
        KernelOptions options = KernelOptions.builder().runtimeDir(runtimeDir).startupTimeout(Duration.ofSeconds(90)).sandbox(NO_NETWORK).build();
        for (int i = 0; i < 3; i++) {
            starts.add(runtime.start(TestKernels.python(), options));
        }
        for (CompletableFuture<Kernel> s : starts) {
            Kernel k = s.get(120, TimeUnit.SECONDS);
            kernels.add(k);
            kernelDirs.add(k.connectionFile().getParent());
        }
        for (Kernel k : kernels) {
            assertThat(run(k, "print('up')")).isEqualTo("up");
        }
        assertThat(IpcRelayTest.relayThreads()).isEqualTo(1);
        for (Kernel k : kernels) {
            k.close();
        }
        await().atMost(T).until(() -> IpcRelayTest.relayThreads() == 0);
    }

    @Test
    void aFailureOnOneRelayedConnectionLeavesTheKernelServing() throws Exception {
        Kernel k = start(TestKernels.python(), NO_NETWORK, b -> b.heartbeatInterval(Duration.ofMillis(100)));
        Thread relay = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(RelayLoop.THREAD_NAME)).findFirst().orElseThrow();
        java.util.concurrent.atomic.AtomicBoolean thrown = new java.util.concurrent.atomic.AtomicBoolean();
        String heartbeat = k.connectionInfo().ip() + "-" + k.connectionInfo().ports().get(dev.carpo.pool.protocol.Channel.HEARTBEAT);
        RelayLoop.beforeHandle = handler -> {
            if (handler.contains(heartbeat) && handler.contains("from port") && thrown.compareAndSet(false, true)) {
                throw new OutOfMemoryError("injected into the heartbeat's relayed connection");
            }
        };
        await().atMost(T).untilTrue(thrown);
        assertThat(run(k, "print('still here')")).isEqualTo("still here");
        assertThat(k.isAlive()).isTrue();
        assertThat(relay.isAlive()).isTrue();
    }

    // ---- bad input and refusals ----

    @Test
    void aSandboxPathThatDoesNotExistFailsTheStartNamingIt() {
        Path missing = hostOther.resolve("no-such-dir");
        for (KernelSandbox box : List.of(KernelSandbox.builder().readOnly(missing).build(), KernelSandbox.builder().writable(missing).build())) {
            assertThatThrownBy(() -> start(TestKernels.python(), box, b -> b))
                    .isInstanceOf(KernelStartException.class)
                    .hasMessageContaining("kernelspec 'python3'").hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");
        }
        assertThatThrownBy(() -> KernelSandbox.builder().readOnly(Path.of("relative")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'relative' is not absolute");
    }

    @Test
    void withoutWorkingBwrapASandboxIsRefusedSayingWhy() {
        bwrapOverridden = true;
        PidNamespace.overrideProgram("carpo-test-no-such-bwrap");
        assertThatThrownBy(() -> start(TestKernels.python(), NO_NETWORK, b -> b))
                .isInstanceOf(KernelStartException.class).hasMessageContaining("Debian package bubblewrap");
        assertThatThrownBy(KernelLimits::checkSandbox).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bubblewrap");
        PidNamespace.overrideProgram(null);

        Containment.usePidNamespace(false);
        assertThatThrownBy(() -> start(TestKernels.python(), NO_NETWORK, b -> b))
                .isInstanceOf(KernelStartException.class).hasMessageContaining("-Dcarpo.bwrap=off");
    }

    @Test
    void gatewaysAndInProcessKernelsRefuseASandbox() throws Exception {
        Gateway gateway = Gateway.of(java.net.URI.create("http://127.0.0.1:1"), "t");
        assertThatThrownBy(() -> KernelOptions.builder().gateway(gateway).sandbox(NO_NETWORK).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sandbox is for kernels carpo runs as local processes");
        assertThatThrownBy(() -> KernelOptions.builder().gateway(gateway).scratchDirectory(true).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scratchDirectory");

        Path specDir = Files.createDirectory(hostOther.resolve("inproc"));
        Files.writeString(specDir.resolve("kernel.json"), """
                {"argv": ["unused"], "display_name": "in-process", "language": "python",
                 "metadata": {"kernel_provisioner": {"provisioner_name": "sandbox-test-in-process"}}}""");
        try (KernelRuntime own = KernelRuntime.create()) {
            own.serveInProcess("sandbox-test-in-process", (id, info) -> {
                throw new AssertionError("a sandboxed in-process kernel must be refused before it is served");
            });
            assertThatThrownBy(() -> own.start(KernelSpec.read(specDir.resolve("kernel.json")),
                    KernelOptions.builder().sandbox(NO_NETWORK).build()).get(30, TimeUnit.SECONDS))
                    .satisfies(e -> assertThat(e instanceof ExecutionException ? e.getCause() : e)
                            .isInstanceOf(KernelStartException.class).hasMessageContaining("a sandbox is for kernels carpo runs as processes"));
        }
    }
}

package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.carpo.pool.kernel.JupyterServer;
import dev.carpo.pool.kernel.KernelSpecs;
import dev.carpo.pool.kernel.Prerequisites;
import dev.carpo.pool.kernel.SelfSignedCert;
import dev.carpo.pool.kernel.TestKernels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./carpo} command as users run it, on the packaged jar, against real kernels: every
 * example, the error paths, Ctrl-C during a run and in the REPL (through a pseudo-terminal).
 */
class CarpoCommandIT {
    static final Path HOME = Path.of(System.getProperty("carpo.home", "..")).toAbsolutePath().normalize();
    static final Pattern KERNEL_PID = Pattern.compile("ready in \\d+ ms \\(pid (\\d+)\\)");
    /** Restores SIGINT's default: a JVM started from a non-interactive shell may have inherited "ignored". */
    static final List<String> WITH_SIGINT = List.of("/usr/bin/python3", "-c",
            "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])");

    @TempDir
    Path tmp;
    private final List<Process> started = new ArrayList<>();

    record Run(int exit, String stdout, String stderr) {
    }

    @AfterEach
    void noProcessLeft() {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    private Process start(List<String> command, Path out, Path err) throws IOException {
        return start(command, Map.of(), out, err);
    }

    private Process start(List<String> command, Map<String, String> env, Path out, Path err) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(HOME.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("TERM", "xterm");
        pb.environment().put("JUPYTER_RUNTIME_DIR", tmp.resolve("runtime").toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p);
        return p;
    }

    private Run carpo(Duration timeout, String... args) throws Exception {
        return carpo(timeout, Map.of(), args);
    }

    private Run carpo(Duration timeout, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("./carpo"));
        command.addAll(List.of(args));
        Path out = tmp.resolve("out-" + started.size());
        Path err = tmp.resolve("err-" + started.size());
        Process p = start(command, env, out, err);
        p.getOutputStream().close();
        assertThat(p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)).as("carpo %s finished within %s", List.of(args), timeout).isTrue();
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static List<Long> kernelPids(String stderr) {
        List<Long> pids = new ArrayList<>();
        Matcher m = KERNEL_PID.matcher(stderr);
        while (m.find()) {
            pids.add(Long.parseLong(m.group(1)));
        }
        return pids;
    }

    private static void assertGone(List<Long> pids) {
        assertThat(pids).isNotEmpty();
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(pids).noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
    }

    @Test
    void helpVersionAndBadFlags() throws Exception {
        Run help = carpo(Duration.ofSeconds(120), "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.stdout()).contains("Usage: carpo", "run", "kernels", "repl", "--version");

        Run runHelp = carpo(Duration.ofSeconds(60), "run", "--help");
        assertThat(runHelp.stdout()).contains("SCRIPT.lua", "--metrics-port");

        Run version = carpo(Duration.ofSeconds(60), "--version");
        assertThat(version.exit()).isZero();
        assertThat(version.stdout()).startsWith("carpo 0.1.0");

        Run bad = carpo(Duration.ofSeconds(60), "run", "--metrics-prot", "9", "x.lua");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.stderr()).startsWith("carpo: run: unknown option '--metrics-prot'; did you mean '--metrics-port'?\n")
                .contains("Usage: carpo run");

        Run typo = carpo(Duration.ofSeconds(60), "rnu", "x.lua");
        assertThat(typo.exit()).isEqualTo(2);
        assertThat(typo.stderr()).startsWith("carpo: unknown command 'rnu'; did you mean 'run'?\nUsage: carpo").contains("Commands:");

        Run badPort = carpo(Duration.ofSeconds(60), "run", "--metrics-port", "-1", "x.lua");
        assertThat(badPort.exit()).isEqualTo(2);
        assertThat(badPort.stderr()).contains("--metrics-port must be 0 (any free port) to 65535, got -1");

        Run nothing = carpo(Duration.ofSeconds(60));
        assertThat(nothing.exit()).isEqualTo(2);
        assertThat(nothing.stderr()).contains("say what to do");
    }

    @Test
    void kernelsListsTheDiscoveredKernelspecs() throws Exception {
        Run kernels = carpo(Duration.ofSeconds(60), "kernels");
        assertThat(kernels.exit()).isZero();
        assertThat(kernels.stdout()).startsWith("Available kernels:")
                .containsPattern("python3\\s+/usr/share/jupyter/kernels/python3\\s+system\\s+python: Python 3")
                .contains("/usr/share/jupyter/kernels/ir")
                .containsPattern("carpo-lua\\s+/\\S+/carpo-lua\\s+built-in\\s+lua: Lua \\(carpo, LuaJ\\)")
                .containsPattern("carpo-java\\s+/\\S+/carpo-java\\s+built-in\\s+java: Java \\(carpo, JShell\\)");
    }

    /** A virtualenv's and a conda environment's kernelspecs are found where pip and conda put them, and say so. */
    @Test
    void kernelsFindsTheActiveEnvironmentsSpecs() throws Exception {
        Path venv = tmp.resolve("venv");
        Path conda = tmp.resolve("conda");
        for (Path prefix : List.of(venv, conda)) {
            Path spec = Files.createDirectories(prefix.resolve("share/jupyter/kernels/" + prefix.getFileName() + "-py"));
            Files.writeString(spec.resolve("kernel.json"), """
                    {"argv": ["%s/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                     "display_name": "Python (%s)", "language": "python"}""".formatted(prefix, prefix.getFileName()));
        }
        Files.writeString(venv.resolve("pyvenv.cfg"), "home = /usr/bin\n");
        Path home = Files.createDirectories(tmp.resolve("home"));
        Run kernels = carpo(Duration.ofSeconds(60), Map.of("VIRTUAL_ENV", venv.toString(), "CONDA_PREFIX", conda.toString(),
                "CONDA_DEFAULT_ENV", "science", "HOME", home.toString()), "kernels", "--paths");
        assertThat(kernels.exit()).as(kernels.stderr()).isZero();
        assertThat(kernels.stdout()).startsWith("Searched, highest priority first (DIR/kernels/NAME/kernel.json):\n  " + venv.resolve("share/jupyter") + " ")
                .containsPattern("^[^\\n]+\\n  \\S+\\s+env \\(VIRTUAL_ENV\\)\\n")
                .containsPattern("\\n  " + conda.resolve("share/jupyter") + "\\s+env \\(CONDA_PREFIX\\)\\n  " + home.resolve(".local/share/jupyter")
                        + "\\s+user \\(no kernels dir\\)\\n")
                .containsPattern("venv-py\\s+" + venv.resolve("share/jupyter/kernels/venv-py") + "\\s+env \\(VIRTUAL_ENV\\)\\s+python: Python \\(venv\\)")
                .containsPattern("conda-py\\s+" + conda.resolve("share/jupyter/kernels/conda-py") + "\\s+env \\(CONDA_PREFIX\\)\\s+python: Python \\(conda\\)");
    }

    @Test
    void kernelsListsAGatewaysKernelspecsAndNamesAGatewayError() throws Exception {
        try (JupyterServer server = JupyterServer.start(tmp.resolve("server"))) {
            Run remote = carpo(Duration.ofSeconds(60), "kernels", "--gateway", server.url().toString(), "--token", server.token());
            assertThat(remote.exit()).as(remote.stderr()).isZero();
            assertThat(remote.stdout()).startsWith("Available kernels on " + server.url() + ":")
                    .containsPattern("python3\\s+python: Python 3");
            Run refused = carpo(Duration.ofSeconds(60), "kernels", "--gateway", server.url().toString(), "--token", "wrong");
            assertThat(refused.exit()).isEqualTo(1);
            assertThat(refused.stderr()).contains("carpo: error: gateway " + server.url(), "403", "token");
        }
        Run badUrl = carpo(Duration.ofSeconds(60), "kernels", "--gateway", "localhost:8888");
        assertThat(badUrl.exit()).isEqualTo(2);
        assertThat(badUrl.stderr()).contains("--gateway");
    }

    /** An https gateway: refused, saying why, until its certificate is trusted with --ca-cert. */
    @Test
    void kernelsOverTlsTrustsACertificateGivenWithCaCert() throws Exception {
        SelfSignedCert.requireOpenssl();
        SelfSignedCert cert = SelfSignedCert.make(tmp.resolve("cert"), "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
        try (JupyterServer server = JupyterServer.startTls(tmp.resolve("tls-server"), cert.certFile(), cert.keyFile())) {
            Map<String, String> env = Map.of(CarpoLib.TOKEN_ENV, server.token());
            Run untrusted = carpo(Duration.ofSeconds(60), env, "kernels", "--gateway", server.url().toString());
            assertThat(untrusted.exit()).isEqualTo(1);
            assertThat(untrusted.stderr()).contains("carpo: error: gateway " + server.url() + ": TLS certificate not trusted")
                    .doesNotContain(server.token());
            Run trusted = carpo(Duration.ofSeconds(60), env, "kernels", "--gateway", server.url().toString(),
                    "--ca-cert", cert.certFile().toString());
            assertThat(trusted.exit()).as(trusted.stderr()).isZero();
            assertThat(trusted.stdout()).startsWith("Available kernels on " + server.url() + ":").containsPattern("python3\\s+python: Python 3");
            Run notPem = carpo(Duration.ofSeconds(60), env, "kernels", "--gateway", server.url().toString(),
                    "--ca-cert", cert.keyFile().toString());
            assertThat(notPem.exit()).isEqualTo(2);
            assertThat(notPem.stderr()).contains("--ca-cert: ", cert.keyFile().toString());
        }
        Run alone = carpo(Duration.ofSeconds(60), "kernels", "--ca-cert", "cert.pem");
        assertThat(alone.exit()).isEqualTo(2);
        assertThat(alone.stderr()).contains("--ca-cert is for a gateway; give --gateway URL too");
    }

    @Test
    void installedBuiltinKernelsPassTheJupyterKernelTestSuite() throws Exception {
        Path prefix = tmp.resolve("prefix");
        for (String name : List.of("carpo-lua", "carpo-java")) {
            Run install = carpo(Duration.ofSeconds(120), "install-kernel", name, "--prefix", prefix.toString());
            assertThat(install.exit()).as(install.stderr()).isZero();
            assertThat(install.stdout()).contains("Installed kernelspec " + name + " in " + prefix.resolve("share/jupyter/kernels/" + name));
        }
        Run unknown = carpo(Duration.ofSeconds(60), "install-kernel", "carpo-cobol", "--prefix", prefix.toString());
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.stderr()).contains("no built-in kernel named 'carpo-cobol'; built-in kernels: ", "carpo-lua", "carpo-java");

        // jupyter_client starts them from the installed specs, and jupyter_kernel_test drives them.
        Prerequisites.requirePythonModule("jupyter_kernel_test", "python3-jupyter-kernel-test");
        Path out = tmp.resolve("kernel-test.out");
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", "-m", "unittest", "-v", "pool-lua/src/test/python/test_builtin_kernels.py")
                .directory(HOME.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().put("JUPYTER_PATH", prefix.resolve("share/jupyter").toString());
        pb.environment().put("JUPYTER_RUNTIME_DIR", tmp.resolve("runtime").toString());
        Process p = pb.start();
        started.add(p);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("jupyter_kernel_test finished").isTrue();
        String report = Files.readString(out);
        assertThat(p.exitValue()).as(report).isZero();
        assertThat(report).contains("CarpoLuaKernelTests.test_execute_stdout) ... ok", "CarpoJavaKernelTests.test_execute_result) ... ok",
                "CarpoLuaKernelTests.test_is_complete) ... ok", "CarpoJavaKernelTests.test_completion) ... ok").containsPattern("Ran \\d+ tests");
        await().atMost(Duration.ofSeconds(20)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(h -> h.info().commandLine().orElse("").contains(tmp.resolve("runtime").toString())));
    }

    /** The kernel sees itself as pid 2 of its own PID namespace (bwrap's init is 1); outside, it is one of the started kernels. */
    private void assertInstancePid(Run run) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("instance 2: pid (\\d+) in its PID namespace, (\\d+) outside")
                .matcher(run.stdout());
        assertThat(m.find()).as(run.stdout()).isTrue();
        assertThat(m.group(1)).isEqualTo("2");
        assertThat(kernelPids(run.stderr())).contains(Long.parseLong(m.group(2)));
    }

    @Test
    void quickstartExample() throws Exception {
        Run run = carpo(Duration.ofSeconds(180), "run", "examples/quickstart.lua");
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stdout()).contains("stdout:     42\n", "status:     ok on instance 1", "error:      ZeroDivisionError: division by zero",
                "pool:       size 5, idle 5, busy 0");
        assertThat(kernelPids(run.stderr())).hasSize(5);
        assertInstancePid(run);
        assertGone(kernelPids(run.stderr()));
    }

    @Test
    void quickstartOnTheBuiltinLuaKernelNeedsNoPython() throws Exception {
        Run run = carpo(Duration.ofSeconds(180), "run", "examples/quickstart.lua", "lua");
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stdout()).contains("stdout:     42\n", "status:     ok on instance 1", "error:      LuaError: division by zero",
                "pool:       size 5, idle 5, busy 0");
        List<Long> pids = kernelPids(run.stderr());
        assertThat(pids).hasSize(5);
        assertInstancePid(run);
        assertThat(run.stderr()).contains("lua[1] ready in");
        assertGone(pids);
    }

    /** Where no python3 spec is found the quick start says where it looked, in one line, and that it uses carpo-lua. */
    @Test
    void quickstartSaysWhereItLookedWhenThereIsNoPython() throws Exception {
        Path script = tmp.resolve("no-python.lua");
        Files.writeString(script, """
                carpo.kernelspecs = function() return {} end   -- as on a machine without ipykernel
                dofile("examples/quickstart.lua")
                """);
        Run run = carpo(Duration.ofSeconds(180), "run", script.toString());
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stdout()).contains("stdout:     42\n", "error:      LuaError: division by zero");
        // The child inherits this JVM's environment, so it searches what this JVM would (ending with the system dirs).
        List<String> searched = KernelSpecs.fromEnvironment().searchPath().stream().map(Path::toString).toList();
        assertThat(searched).endsWith("/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels");
        assertThat(run.stderr().lines().filter(l -> l.contains("no python3 kernelspec")).toList()).containsExactly(
                "carpo: no python3 kernelspec in " + String.join(", ", searched) + "; using carpo-lua instead");
        assertGone(kernelPids(run.stderr()));
    }

    @Test
    void untrustedExample() throws Exception {
        Run run = carpo(Duration.ofSeconds(240), "run", "examples/untrusted.lua");
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stdout()).as(run.stderr()).contains("flood:   ok, truncated=true", "first line 0, last line 99999",
                "huge:    execute_code: output_limit: pool 'python' instance 1", "refused unread",
                "memory:  execute_code: memory_limit: pool 'python' instance 1", "went over its memory limit of 268,435,456 bytes",
                "'instance 2 untouched'", "refused (BlockingIOError); the kernel lives on",
                "output_limited 1, memory_limited 1, kernel_died 0, size 2");
        assertGone(kernelPids(run.stderr()));
    }

    @Test
    void tenantsExampleShowsFreshSandboxedLeasesAndWhyKernelsWent() throws Exception {
        Run run = carpo(Duration.ofSeconds(240), "run", "examples/tenants.lua");
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stdout()).as(run.stderr()).contains("bob:     secret is a NameError, files here: []",
                "network: OSError Network is unreachable", "visible: False",
                "python:  lease_end 2, deaths 0", "grader:  executions 2, kernels started 3");
        assertThat(run.stderr()).containsPattern("carpo: python\\[1] retired \\(lease_end\\) \\(pid \\d+\\)")
                .containsPattern("carpo: grader\\[1] retired \\(executions 2\\) \\(pid \\d+\\)")
                .doesNotContain("retired (closed)");
        assertGone(kernelPids(run.stderr()));
    }

    @Test
    void parallelMapExample() throws Exception {
        Run run = carpo(Duration.ofSeconds(240), "run", "examples/parallel_map.lua");
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stdout()).contains("primes below 1000: 168, below 100000: 9592", "100 jobs, 0 failed", "pool: ok 100");
        assertGone(kernelPids(run.stderr()));
    }

    @Test
    void twoLanguagesExample() throws Exception {
        TestKernels.specOrSkip("ir");
        Run run = carpo(Duration.ofSeconds(240), "run", "examples/two_languages.lua");
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stdout()).contains("python mean: 5", "r mean:      [1] 5", "python error: NameError",
                "r error:      Error in eval(expr, envir, enclos): no such thing", "squares: 1, [1] 1, 4, [1] 4");
        assertThat(run.stderr()).contains("carpo: r[1] ready in", "carpo: python[2] ready in");
        assertGone(kernelPids(run.stderr()));
    }

    @Test
    void scalingMetricsExampleWithMetricsPort() throws Exception {
        Run run = carpo(Duration.ofSeconds(240), "run", "examples/scaling_metrics.lua", "--metrics-port", "0");
        assertThat(run.exit()).as(run.stderr()).isZero();
        assertThat(run.stderr()).containsPattern("carpo: metrics at http://127.0.0.1:\\d+/metrics");
        assertThat(run.stdout()).contains("after scale_pool(4): size 4",
                "carpo_executions_total{language=\"python\",location=\"local\",outcome=\"ok\",pool=\"python\"} 24.0",
                "after scale_pool(2): size 2");
        // New kernels took queued jobs; how many of the three got one before the queue ran dry depends on how
        // fast they start (at most two at once on 2 cores), so what must hold is that the work spread beyond the first.
        assertThat(run.stdout()).containsPattern("24 jobs done on [234] instances");
        assertGone(kernelPids(run.stderr()));
    }

    @Test
    void scriptErrorExitsOneWithTheTraceback() throws Exception {
        Path script = Files.writeString(tmp.resolve("broken.lua"), """
                carpo.create_pool("python", "python3", {size = 1})
                local function helper()
                  return carpo.execute_code("1", {instance = 7}) .. "never"
                end
                helper()
                """);
        Run run = carpo(Duration.ofSeconds(120), "run", script.toString());
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.stderr()).contains("carpo: error: " + script + ":3: execute_code: instance 7 is out of range: pool 'python' has 1 instance (1..1)")
                .contains("stack traceback:").contains(script + ":5");
        assertGone(kernelPids(run.stderr()));

        // A syntax error names the script as typed, as a run-time error does (LuaJ alone: [string "..."]:4:).
        Path syntax = Files.writeString(Files.createDirectories(tmp.resolve("dir")).resolve("syn.lua"),
                "local x = 1\nlocal function f()\n  while true\n    x = x + 1\n  end\nend\n");
        String typed = HOME.relativize(syntax).toString();
        Run bad = carpo(Duration.ofSeconds(60), "run", typed);
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.stderr()).isEqualTo("carpo: error: " + typed + ":4: 'do' expected\n");

        Run missing = carpo(Duration.ofSeconds(60), "run", "no/such/script.lua");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.stderr()).contains("carpo: no such script: no/such/script.lua");
    }

    @Test
    void ctrlCDuringARunShutsEveryKernelDown() throws Exception {
        Path script = Files.writeString(tmp.resolve("long.lua"), """
                carpo.create_pool("python", "python3", {size = 2})
                print("running") io.stdout:flush()
                carpo.map({"import time; time.sleep(120)", "import time; time.sleep(120)"})
                """);
        Path out = tmp.resolve("long.out");
        Path err = tmp.resolve("long.err");
        List<String> command = new ArrayList<>(WITH_SIGINT);
        command.addAll(List.of("./carpo", "run", script.toString()));
        Process p = start(command, out, err);
        await().atMost(Duration.ofSeconds(120)).until(() -> Files.readString(out).contains("running"));
        List<Long> kernels = kernelPids(Files.readString(err));
        assertThat(kernels).hasSize(2).allMatch(pid -> ProcessHandle.of(pid).isPresent());

        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();

        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("carpo exits after Ctrl-C").isTrue();
        assertThat(p.exitValue()).isEqualTo(130);
        assertThat(Files.readString(err)).contains("carpo: interrupted (Ctrl-C); cancelling 2 jobs and shutting 2 kernels down\n")
                .doesNotContain("carpo: error:");
        assertGone(kernels);
    }

    @Test
    void ctrlCDuringPureLuaSaysJustThat() throws Exception {
        Path script = Files.writeString(tmp.resolve("spin.lua"), """
                print("spinning") io.stdout:flush()
                while true do end
                """);
        Path out = tmp.resolve("spin.out");
        Path err = tmp.resolve("spin.err");
        List<String> command = new ArrayList<>(WITH_SIGINT);
        command.addAll(List.of("./carpo", "run", script.toString()));
        Process p = start(command, out, err);
        await().atMost(Duration.ofSeconds(120)).until(() -> Files.readString(out).contains("spinning"));

        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();

        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("carpo exits after Ctrl-C").isTrue();
        assertThat(p.exitValue()).isEqualTo(130);
        assertThat(Files.readString(err)).isEqualTo("carpo: interrupted (Ctrl-C)\n"); // no jobs, no kernels: nothing else to say
    }

    /**
     * The ./carpo script, in a copy of the tree with a stub mvn on PATH (which "builds" by copying the
     * real jar): "building" only when there is no jar, "rebuilding" and why when a source is newer.
     */
    @Test
    void theScriptSaysWhetherItBuildsForTheFirstTimeOrRebuilds() throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Files.copy(HOME.resolve("carpo"), tree.resolve("carpo"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Path source = tree.resolve("pool-lua/src/main/java/Changed.java");
        for (Path f : List.of(tree.resolve("pool-core/src/main/java/Core.java"), source,
                tree.resolve("pom.xml"), tree.resolve("pool-core/pom.xml"), tree.resolve("pool-lua/pom.xml"))) {
            Files.createDirectories(f.getParent());
            Files.writeString(f, "");
        }
        Path bin = Files.createDirectories(tmp.resolve("stub-bin"));
        Path mvn = Files.writeString(bin.resolve("mvn"), """
                #!/usr/bin/env bash
                printf '%s\\n' "$*" >> "$MVN_LOG"
                [ -z "${MVN_FAIL:-}" ] || exit 1
                mkdir -p pool-lua/target && cp "$REAL_JAR" pool-lua/target/carpo.jar
                """);
        Files.setPosixFilePermissions(mvn, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path log = tmp.resolve("mvn.log");
        Path jar = tree.resolve("pool-lua/target/carpo.jar");

        Run failed = script(tree, bin, log, true);
        assertThat(failed.exit()).isEqualTo(2);
        assertThat(failed.stderr()).isEqualTo("carpo: building " + jar + " (first use)...\n"
                + "carpo: the build failed; run 'mvn -B -DskipTests -pl pool-lua -am package' in " + tree + " to see why\n");

        Run first = script(tree, bin, log, false);
        assertThat(first.exit()).as(first.stderr()).isZero();
        assertThat(first.stdout()).startsWith("carpo 0.1.0");
        assertThat(first.stderr()).isEqualTo("carpo: building " + jar + " (first use)...\n");

        Run again = script(tree, bin, log, false);
        assertThat(again.exit()).isZero();
        assertThat(again.stderr()).isEmpty();

        // Everything older than the jar but the one source edited since.
        java.nio.file.attribute.FileTime built = java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600));
        try (var all = Files.walk(tree)) {
            for (Path p : all.toList()) {
                Files.setLastModifiedTime(p, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(7200)));
            }
        }
        Files.setLastModifiedTime(jar, built);
        Files.writeString(source, "class Changed {}");
        Run rebuilt = script(tree, bin, log, false);
        assertThat(rebuilt.exit()).as(rebuilt.stderr()).isZero();
        assertThat(rebuilt.stderr()).isEqualTo("carpo: rebuilding " + jar
                + " (sources changed since the last build: pool-lua/src/main/java/Changed.java is newer)...\n");
        assertThat(Files.readAllLines(log)).hasSize(3).allMatch(args -> args.equals("-B -q -Dstyle.color=never -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true -pl pool-lua -am package"));
    }

    private Run script(Path tree, Path bin, Path log, boolean failBuild) throws Exception {
        Path out = tmp.resolve("script-out-" + started.size());
        Path err = tmp.resolve("script-err-" + started.size());
        ProcessBuilder pb = new ProcessBuilder(tree.resolve("carpo").toString(), "--version").directory(tmp.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("PATH", bin + java.io.File.pathSeparator + System.getenv("PATH"));
        pb.environment().put("MVN_LOG", log.toString());
        pb.environment().put("REAL_JAR", System.getProperty("carpo.jar", HOME.resolve("pool-lua/target/carpo.jar").toString()));
        if (failBuild) {
            pb.environment().put("MVN_FAIL", "1");
        }
        Process p = pb.start();
        started.add(p);
        p.getOutputStream().close();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void replTakesExpressionsStatementsAndMultiLineChunks() throws Exception {
        Path out = tmp.resolve("repl.out");
        Process p = start(List.of("./carpo", "repl"), out, tmp.resolve("repl.err"));
        try (OutputStream in = p.getOutputStream()) {
            in.write("""
                    x = 21
                    x * 2
                    for i = 1, 3 do
                      io.write(i, " ")
                    end
                    print()
                    =carpo.version
                    "4" .. "2"
                    carpo.execute_code("1")
                    local function down(n) return down(n + 1) + 1 end down(1)
                    x = = 1
                    nosuch.field
                    500 +
                    500
                    "still here"
                    """.getBytes(StandardCharsets.UTF_8));
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the REPL exits at end of input").isTrue();
        assertThat(p.exitValue()).isZero();
        String shown = Files.readString(out);
        assertThat(shown).contains("> 42\n").contains("\"42\"").contains("1 2 3").contains("\"" + System.getProperty("carpo.version", "0.1.0") + "\"")
                .contains("> stdin:1: execute_code: there is no pool yet") // the line, though the call is an expression
                .contains("> stdin:1: unexpected symbol").contains("> stdin:1: attempt to index ? (a nil value)\n")
                .contains("> 1000\n") // "500 +" waited for the rest
                .contains("stack overflow").contains("\"still here\""); // and the REPL goes on
    }

    @Test
    void ctrlCInTheReplCancelsTheRunningExecutionAndCtrlDExits() throws Exception {
        Path out = tmp.resolve("pty.out");
        // script(1) gives the REPL a real pseudo-terminal, whose line discipline turns ^C into SIGINT.
        List<String> command = new ArrayList<>(WITH_SIGINT);
        // script runs the command through $SHELL; without exec a shell waits in the foreground group, and dash
        // (the /bin/sh that CI has as $SHELL) dies of the ^C itself, which script then reports as exit 130.
        command.addAll(List.of("env", "SHELL=/bin/sh", "script", "-qefc", "exec ./carpo repl", "/dev/null"));
        Path err = tmp.resolve("pty.err");
        Process p = start(command, out, err);
        OutputStream in = p.getOutputStream();
        await().atMost(Duration.ofSeconds(120)).until(() -> Files.readString(out).contains("Lua REPL"));
        type(in, "carpo.create_pool('python', 'python3', {size = 1}) and nil\r");
        await().atMost(Duration.ofSeconds(120)).until(() -> Files.readString(out).contains("ready in"));
        List<Long> kernels = kernelPids(Files.readString(out));
        Path running = tmp.resolve("running");
        type(in, "r = carpo.execute_code('import time; open(\"" + running + "\", \"w\").close(); time.sleep(120)')\r");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(running));

        type(in, "\u0003");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(out).contains("stdin:1: execute_code: interrupted (Ctrl-C); cancelled 1 job\r\n"));
        // Ctrl-C also stops Lua that never calls carpo.
        type(in, "n = 0 while true do n = n + 1 if n == 1000 then print('spin' .. 'ning') end end\r");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(out).contains("spinning"));
        type(in, "\u0003");
        // No job ran: the message says only that the Lua was stopped.
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(out).contains("stdin:1: interrupted (Ctrl-C)\r\n"));
        type(in, "carpo.execute_code(\"'%d!' % (6 * 7)\").result\r");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(out).contains("\"'42!'\""));
        assertThat(kernels).allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)); // same kernel, interrupted not killed

        type(in, "\u0004");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("Ctrl-D exits").isTrue();
        assertThat(p.exitValue()).as(() -> transcript(out, err)).isZero();
        assertGone(kernels);
    }

    private static String transcript(Path out, Path err) {
        try {
            return "terminal:\n" + Files.readString(out) + "\nstderr:\n" + Files.readString(err);
        } catch (IOException e) {
            return "(no transcript: " + e + ")";
        }
    }

    private static void type(OutputStream in, String keys) throws IOException {
        in.write(keys.getBytes(StandardCharsets.UTF_8));
        in.flush();
    }
}

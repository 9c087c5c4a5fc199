package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release archive {@code carpo-<version>.tar.gz} as a user installs it: unpacked into a
 * directory outside the source tree and run with a JDK and nothing else. A {@code mvn} first on
 * {@code PATH} that only records being called proves the command never builds anything.
 */
class CarpoReleaseIT {
    static final String VERSION = System.getProperty("carpo.version", "0.1.0");
    static final Path ARCHIVE = Path.of(System.getProperty("carpo.archive",
            "target/carpo-" + VERSION + ".tar.gz")).toAbsolutePath();
    static final Pattern KERNEL_PID = Pattern.compile("ready in \\d+ ms \\(pid (\\d+)\\)");

    @TempDir
    Path tmp;
    private Path installed;
    private Path stubs;
    private final List<Process> started = new ArrayList<>();

    record Run(int exit, String stdout, String stderr) {
    }

    @BeforeEach
    void unpack() throws Exception {
        assertThat(ARCHIVE).as("`mvn package` made the release archive").isRegularFile();
        Path opt = Files.createDirectories(tmp.resolve("opt"));
        Process tar = new ProcessBuilder("tar", "-xzf", ARCHIVE.toString(), "-C", opt.toString())
                .redirectErrorStream(true).start();
        assertThat(tar.waitFor(60, TimeUnit.SECONDS)).as("tar finished").isTrue();
        assertThat(tar.exitValue()).as(new String(tar.getInputStream().readAllBytes())).isZero();
        installed = opt.resolve("carpo-" + VERSION);
        stubs = Files.createDirectories(tmp.resolve("stubs"));
        Path mvn = stubs.resolve("mvn");
        Files.writeString(mvn, "#!/bin/sh\necho called >> \"" + tmp.resolve("mvn-called") + "\"\nexit 1\n");
        mvn.toFile().setExecutable(true);
    }

    @AfterEach
    void noProcessLeft() {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        assertThat(tmp.resolve("mvn-called")).as("the release command never runs Maven").doesNotExist();
    }

    private Run run(Map<String, String> env, List<String> command) throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path out = tmp.resolve("out-" + started.size());
        Path err = tmp.resolve("err-" + started.size());
        ProcessBuilder pb = new ProcessBuilder(command).directory(work.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().clear();
        pb.environment().put("HOME", Files.createDirectories(tmp.resolve("home")).toString());
        pb.environment().put("PATH", stubs + ":/usr/bin:/bin");
        pb.environment().put("JUPYTER_RUNTIME_DIR", tmp.resolve("runtime").toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        started.add(p);
        p.getOutputStream().close();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished within 120 s", command).isTrue();
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private Run carpo(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(installed.resolve("bin/carpo").toString()));
        command.addAll(List.of(args));
        return run(Map.of(), command);
    }

    @Test
    void archiveHoldsTheCommandTheJarAndTheExamples() throws Exception {
        assertThat(Files.getPosixFilePermissions(installed.resolve("bin/carpo")))
                .contains(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OTHERS_EXECUTE);
        assertThat(installed.resolve("lib/carpo.jar")).isRegularFile();
        assertThat(installed.resolve("examples/quickstart.lua")).isRegularFile();
        assertThat(installed.resolve("LICENSE")).isRegularFile();
    }

    @Test
    void quickStartRunsFromTheUnpackedArchive() throws Exception {
        Run r = carpo("run", installed.resolve("examples/quickstart.lua").toString());
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("stdout:     42", "status:     ok on instance 1",
                "error:      ZeroDivisionError: division by zero", "pool:       size 5, idle 5, busy 0, ok 2, errors 1");
        List<Long> pids = new ArrayList<>();
        Matcher m = KERNEL_PID.matcher(r.stderr());
        while (m.find()) {
            pids.add(Long.parseLong(m.group(1)));
        }
        assertThat(pids).hasSize(5);
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(pids).noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
    }

    @Test
    void kernelsListsJupytersSpecsAndTheBuiltInOnes() throws Exception {
        Run r = carpo("kernels");
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("python3", "carpo-lua", "carpo-java");
        // The built-in specs point at the unpacked jar, not at a build tree.
        String builtIn = Files.readString(tmp.resolve("runtime").resolve("carpo-kernels")
                .toFile().listFiles()[0].toPath().resolve("carpo-lua/kernel.json"));
        assertThat(builtIn).contains(installed.resolve("lib/carpo.jar").toString());
    }

    @Test
    void runsThroughASymlinkOnPath() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("usr-local-bin"));
        Files.createSymbolicLink(bin.resolve("carpo"), installed.resolve("bin/carpo"));
        Run r = run(Map.of("PATH", bin + ":" + stubs + ":/usr/bin:/bin"), List.of("/usr/bin/env", "carpo", "--version"));  // found on PATH, as a shell would
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).startsWith("carpo " + VERSION + " (Java ");
    }

    @Test
    void saysSoWhenThereIsNoJava() throws Exception {
        Run r = run(Map.of("PATH", tmp.resolve("nothing").toString()),
                List.of("/bin/bash", installed.resolve("bin/carpo").toString(), "--version"));
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.stderr()).contains("carpo: no java found: install a JDK 17 or later");
    }
}

package dev.carpo.pool.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * Runs an example's {@code main} in a child JVM, as a user runs it ({@code java -cp … Example args},
 * or the source launcher on {@code examples/java/Example.java}): its own shutdown hooks, its own {@code System.out}, no state
 * shared with the tests' JVM. Its stdout and stderr go to files (no pipe to fill), it has a
 * deadline, and every process it started must be gone once it has exited.
 */
final class ExampleJvm {
    /** Marks every process the example starts (environment is inherited), so one left behind can be found. */
    private static final String MARKER = "CARPO_EXAMPLE_RUN";

    record Run(String example, int exit, List<String> stdout, String stderr) {
        /** For assertion messages: what the example printed. */
        String transcript() {
            return example + " exited " + exit + "\n--- stdout\n" + String.join("\n", stdout) + "\n--- stderr\n" + stderr;
        }
    }

    private ExampleJvm() {
    }

    /** {@code java -cp <this JVM's classpath> example args…}: the example as the build compiled it. */
    static Run run(Path dir, Duration timeout, Map<String, String> env, String example, String... args) throws Exception {
        return run(dir, timeout, env, example, List.of("-cp", System.getProperty("java.class.path"), example), List.of(args));
    }

    /** {@code java -cp <classpath> examples/java/<example>.java args…}: the JDK's source launcher, as the README runs it. */
    static Run runSource(Path dir, Duration timeout, String classpath, String example, String... args) throws Exception {
        return run(dir, timeout, Map.of(), example, List.of("-cp", classpath, "examples/java/" + example + ".java"), List.of(args));
    }

    private static Run run(Path dir, Duration timeout, Map<String, String> env, String example, List<String> javaArgs,
                           List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(javaArgs);
        command.addAll(args);
        Path work = Files.createDirectories(dir.resolve(example));
        Path out = work.resolve("stdout");
        Path err = work.resolve("stderr");
        String marker = UUID.randomUUID().toString();
        ProcessBuilder pb = new ProcessBuilder(command).directory(ExampleFiles.HOME.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("JUPYTER_RUNTIME_DIR", work.resolve("runtime").toString());
        pb.environment().put(MARKER, marker);
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            boolean exited = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(exited).as("%s finished within %s; stderr so far:\n%s", example, timeout, Files.readString(err)).isTrue();
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        Run run = new Run(example, p.exitValue(), Files.readAllLines(out, StandardCharsets.UTF_8), Files.readString(err));
        assertNothingLeft(example, marker);
        return run;
    }

    /** Kernels end with the JVM that started them; whatever still carries the run's marker after a grace outlived it. */
    private static void assertNothingLeft(String example, String marker) {
        try {
            Awaitility.await(example + "'s processes gone after it exited").atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(200)).until(() -> withMarker(marker).isEmpty());
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            List<ProcessHandle> left = withMarker(marker);
            String what = left.stream().map(h -> h.pid() + " " + h.info().commandLine().orElse("?")).toList().toString();
            left.forEach(ProcessHandle::destroyForcibly);
            throw new AssertionError(example + " left processes behind (now killed): " + what, e);
        }
    }

    private static List<ProcessHandle> withMarker(String marker) {
        byte[] wanted = (MARKER + "=" + marker).getBytes(StandardCharsets.UTF_8);
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(h -> h.pid() != ProcessHandle.current().pid() && environHas(h.pid(), wanted)).toList();
        }
    }

    private static boolean environHas(long pid, byte[] entry) {
        byte[] environ;
        try {
            environ = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
        } catch (IOException | SecurityException goneOrNotOurs) {
            return false;
        }
        // Entries are NUL-separated; match a whole entry.
        int start = 0;
        for (int i = 0; i <= environ.length; i++) {
            if (i == environ.length || environ[i] == 0) {
                if (i - start == entry.length && java.util.Arrays.equals(environ, start, i, entry, 0, entry.length)) {
                    return true;
                }
                start = i + 1;
            }
        }
        return false;
    }
}

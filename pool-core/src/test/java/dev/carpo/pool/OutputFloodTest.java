package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 256 MiB JVM survives a kernel flooding it, with another pool's small jobs all answered meanwhile. */
class OutputFloodTest {
    @TempDir
    Path runtimeDir;

    @Test
    void floodsAndAHugeResultLeaveA256MiBClientAndItsOtherPoolHealthy() throws IOException, InterruptedException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-Xmx256m", "-XX:+ExitOnOutOfMemoryError", "-cp", classpath,
                FloodMain.class.getName(), runtimeDir.toString()).redirectErrorStream(true).start();
        byte[] out;
        try (var in = child.getInputStream()) {
            // The child's log is small (a line per outcome, warnings); read it whole, bounded by its exit below.
            out = in.readAllBytes();
        }
        boolean exited = child.waitFor(240, TimeUnit.SECONDS);
        if (!exited) {
            child.destroyForcibly();
        }
        String log = new String(out, StandardCharsets.UTF_8);
        assertThat(exited).as(log).isTrue();
        assertThat(log).doesNotContain("OutOfMemoryError");
        assertThat(child.exitValue()).as(log).isZero();
        assertThat(log).contains("SMALL JOBS").contains("wrong null").contains("UNCAUGHT null");
        // Small jobs go on being answered during the floods (a loop blocked behind one kernel would hold them to their timeout).
        Matcher slowest = Pattern.compile("slowest (\\d+) ms").matcher(log);
        assertThat(slowest.find()).as(log).isTrue();
        assertThat(Long.parseLong(slowest.group(1))).as(log).isLessThan(20_000);
        assertThat(log).containsPattern("AFTER flood 2 RUNNING bystander 4 RUNNING");
        // Each flood ends truncated or refused with its reason, never OK-and-missing, never a timeout.
        assertThat(log).containsPattern("FLOOD coalesced (OK truncated=true|FAILED output_limit)");
        // The 300 MB flood keeps its 1 MiB head and tail. What was dropped is what arrived beyond that: nearly all of
        // it, less whatever ipykernel's own PUB socket discarded while this client was slow (under load, up to a
        // few tens of MB; a kernel-side drop is invisible to any client).
        Matcher flushed = Pattern.compile("FLOOD flushed OK truncated=true dropped=(\\d+) stdout=10\\d{5} ").matcher(log);
        assertThat(flushed.find()).as(log).isTrue();
        assertThat(Long.parseLong(flushed.group(1))).as(log).isBetween(100_000_000L, 299_000_000L);
        assertThat(log).containsPattern("FLOOD result FAILED output_limit .*on iopub");
        assertThat(log).containsPattern("FLOOD frames FAILED output_limit .*sent more on iopub than .* it was cut off");
        System.out.println(log.lines().filter(l -> l.startsWith("FLOOD") || l.startsWith("SMALL") || l.startsWith("AFTER") || l.startsWith("HEAP"))
                .reduce((a, b) -> a + "\n" + b).orElse(""));
    }
}

package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShutdownHookTest {
    @TempDir
    Path runtimeDir;

    @Test
    void jvmExitWithoutCloseLeavesNoKernelAndNoConnectionFile() throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", classpath, PoolExitMain.class.getName(), runtimeDir.toString())
                .redirectErrorStream(true).start();
        List<Long> pids = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("KERNEL PID ")) {
                    pids.add(Long.parseLong(line.substring(11).trim()));
                }
            }
        } finally {
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(child.exitValue()).isZero();
        assertThat(pids).hasSize(2);
        // The shutdown hook ran before the JVM was gone: kernels shut down, files deleted.
        for (long pid : pids) {
            await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        }
        try (var left = Files.list(runtimeDir)) {
            assertThat(left).isEmpty();
        }
    }
}

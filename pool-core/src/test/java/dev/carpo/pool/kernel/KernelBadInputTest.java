package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input to one bare kernel: refused before anything is sent, and the kernel is none the worse. */
class KernelBadInputTest {
    @TempDir
    static Path runtimeDir;
    static KernelRuntime runtime;
    static Kernel kernel;

    @BeforeAll
    static void start() throws Exception {
        runtime = KernelRuntime.create();
        kernel = runtime.start(TestKernels.python(), TestKernels.options(runtimeDir)).get(90, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        kernel.close();
        runtime.close();
    }

    @Test
    void codeWithALoneSurrogateIsNeverSent() throws Exception {
        String message = "code has an unpaired surrogate U+D800 at index 7 (line 1, column 8); it cannot be sent as UTF-8";
        assertThatThrownBy(() -> kernel.execute("print('\uD800')", Duration.ofSeconds(10)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThatThrownBy(() -> kernel.complete("print('\uD800')", 3)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThatThrownBy(() -> kernel.isComplete("print('\uD800')")).hasMessage(message);
        assertThat(kernel.isAlive()).isTrue();
        assertThat(kernel.execute("print('\uD83D\uDE00')", Duration.ofSeconds(30)).stdout()).isEqualTo("\uD83D\uDE00\n");
    }

    @Test
    void anEndlessTimeoutMeansNoLimit() {
        assertThat(kernel.execute("print(6 * 7)", ChronoUnit.FOREVER.getDuration()).stdout()).isEqualTo("42\n");
        assertThat(kernel.execute("print(1)", Duration.ofSeconds(Long.MAX_VALUE)).stdout()).isEqualTo("1\n");
    }
}

package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An Error while handling one kernel's messages, or the I/O loop itself dying, stays where it happened. */
class FaultIsolationTest {
    static final Duration T = Duration.ofSeconds(30);

    @TempDir
    Path runtimeDir;
    KernelRuntime runtime;

    @BeforeEach
    void start() {
        runtime = KernelRuntime.create();
    }

    @AfterEach
    void stop() {
        KernelConnection.beforeHandle = null;
        runtime.close();
    }

    private Kernel kernel() throws Exception {
        return runtime.start(TestKernels.python(), TestKernels.options(runtimeDir)).get(90, TimeUnit.SECONDS);
    }

    @Test
    void anErrorHandlingOneKernelsMessageEndsThatKernelOnly() throws Exception {
        Kernel victim = kernel();
        Kernel bystander = kernel();
        String victimId = victim.id();
        KernelConnection.beforeHandle = (id, message) -> {
            if (id.equals(victimId) && message.type().equals("stream")) {
                throw new OutOfMemoryError("injected while handling a stream message");
            }
        };
        Throwable failure = catchThrowable(() -> victim.execute("print('boom')", T));
        assertThat(failure).isInstanceOf(KernelDiedException.class)
                .hasMessageContaining("could not be served")
                .hasMessageContaining("OutOfMemoryError: injected");
        assertThat(victim.onDeath()).succeedsWithin(T);

        assertThat(bystander.execute("print('still here'); 6 * 7", T).text()).isEqualTo("42");
        assertThat(bystander.isAlive()).isTrue();
        Kernel next = kernel();
        assertThat(next.execute("1 + 1", T).text()).isEqualTo("2");
    }

    @Test
    void aDeadLoopFailsItsKernelsWithTheCauseAndANewLoopServesNewKernels() throws Exception {
        Kernel before = kernel();
        runtime.liveLoop().crashForTest(new StackOverflowError("injected into the loop thread"));
        Throwable failure = catchThrowable(() -> before.execute("1", T));
        assertThat(failure).isInstanceOf(KernelDiedException.class)
                .hasMessageContaining("lost its I/O loop")
                .hasMessageContaining("injected into the loop thread");
        Kernel after = kernel();
        assertThat(after.execute("21 * 2", T).text()).isEqualTo("42");
    }
}

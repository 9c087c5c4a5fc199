package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Meter values follow real activity on real kernels. */
class PoolMetersTest {
    @TempDir
    Path dir;

    private static double counter(MeterRegistry r, String name, String... tags) {
        return r.get(name).tags("pool", "python").tags(tags).functionCounter().count();
    }

    private static double gauge(MeterRegistry r, String name, String... tags) {
        return r.get(name).tags("pool", "python").tags(tags).gauge().value();
    }

    @Test
    void countersSayExactlyWhatHappened() throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).meterRegistry(registry).build()) {
            pools.addListener(testing);
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).init("import time").build());
            assertThat(gauge(registry, "carpo.kernels", "state", "idle")).isEqualTo(2);
            assertThat(gauge(registry, "carpo.pool.min")).isEqualTo(2);
            assertThat(gauge(registry, "carpo.pool.max")).isEqualTo(2);
            assertThat(gauge(registry, "carpo.pool.target")).isEqualTo(2);

            List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                jobs.add(py.submit(i + " + 1"));
            }
            for (int i = 0; i < 3; i++) {
                jobs.add(py.submit("raise KeyError(" + i + ")"));
            }
            for (CompletableFuture<ExecutionResult> f : jobs) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertThatThrownBy(() -> py.execute("time.sleep(30)", ExecuteOptions.builder().instance(0).timeout(Duration.ofMillis(500)).build()))
                    .isInstanceOf(PoolTimeoutException.class);
            CompletableFuture<ExecutionResult> doomed = py.submit("time.sleep(60)", ExecuteOptions.builder().instance(1).build());
            await().atMost(T).until(() -> py.stats().instances().get(1).state() == InstanceState.BUSY);
            assertThat(gauge(registry, "carpo.kernels", "state", "busy")).isGreaterThanOrEqualTo(1);
            ProcessHandle.of(py.stats().instances().get(1).pid()).orElseThrow().destroyForcibly();
            assertThatThrownBy(() -> doomed.get(30, TimeUnit.SECONDS)).cause().isInstanceOf(PoolKernelDiedException.class);
            await().atMost(T).until(() -> py.stats().restarts() == 1 && py.stats().instances().get(1).kernelId() != null);

            assertThat(counter(registry, "carpo.executions", "outcome", "ok")).isEqualTo(7);
            assertThat(counter(registry, "carpo.executions", "outcome", "error")).isEqualTo(3);
            assertThat(counter(registry, "carpo.executions", "outcome", "timeout")).isEqualTo(1);
            assertThat(counter(registry, "carpo.executions", "outcome", "kernel_died")).isEqualTo(1);
            assertThat(counter(registry, "carpo.executions", "outcome", "rejected")).isZero();
            assertThat(counter(registry, "carpo.kernel.deaths", "reason", "crash")).isEqualTo(1);
            assertThat(counter(registry, "carpo.kernel.restarts")).isEqualTo(1);
            assertThat(counter(registry, "carpo.kernel.starts")).isEqualTo(3);
            assertThat(counter(registry, "carpo.kernel.start.failures")).isZero();
            assertThat(counter(registry, "carpo.messages.rejected")).isZero();
            assertThat(counter(registry, "carpo.objectpool.creations")).isEqualTo(3);
            assertThat(counter(registry, "carpo.objectpool.borrows")).isEqualTo(3);
            assertThat(counter(registry, "carpo.objectpool.destructions")).isEqualTo(1);

            // Timers: one run time per execution the kernel finished, one wait per job sent to a kernel
            // (init code runs inside kernel creation, so it counts in carpo.kernel.startup instead).
            assertThat(registry.get("carpo.execution.duration").tags("pool", "python").timer().count()).isEqualTo(7 + 3);
            assertThat(registry.get("carpo.queue.wait").tags("pool", "python").timer().count()).isEqualTo(7 + 3 + 1 + 1);
            assertThat(registry.get("carpo.kernel.startup").tags("pool", "python").timer().count()).isEqualTo(3);
            assertThat(registry.get("carpo.kernel.startup").tags("pool", "python").timer().max(TimeUnit.MILLISECONDS)).isPositive();

            // Resource usage per instance, from /proc, in the meters and in PoolStats.
            double memory = registry.get("carpo.kernel.memory").tags("pool", "python", "instance", "0").gauge().value();
            assertThat(memory).isGreaterThan(10_000_000);
            assertThat(registry.get("carpo.kernel.cpu").tags("pool", "python", "instance", "1").gauge().value()).isGreaterThan(0);
            assertThat(py.stats().instances().get(0).memoryBytes()).isGreaterThan(10_000_000);
            assertThat(py.stats().instances().get(0).cpuSeconds()).isGreaterThan(0);

            for (Meter m : registry.getMeters()) {
                assertThat(m.getId().getDescription()).as("description of %s", m.getId().getName()).isNotBlank();
                assertThat(m.getId().getTag("language")).isEqualTo("python");
            }

            pools.shutdownPool("python");
            assertThat(registry.getMeters()).as("a closed pool's meters are removed").isEmpty();
        }
    }

    @Test
    void withoutARegistryNothingIsPublishedAndNothingBreaks() {
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).build()) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).build());
            assertThat(py.execute("1 + 1").text()).isEqualTo("2");
        }
    }
}

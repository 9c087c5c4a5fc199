package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared I/O loop dying (which handlers guard against) still heals: the runtime starts another, the pools replace their kernels. */
class LoopRecoveryTest {
    @TempDir
    Path dir;

    @Test
    void poolsRecoverOnTheirOwnWhenTheIoLoopDies() throws Exception {
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).build());
            Set<String> before = py.stats().instances().stream().map(PoolStats.Instance::kernelId).collect(Collectors.toSet());
            pools.runtime().liveLoop().crashForTest(new OutOfMemoryError("injected into the I/O loop"));

            // Every old kernel is declared dead with the reason, and replaced on the new loop within seconds.
            await().atMost(T).until(() -> testing.events.stream().filter(e -> e.type() == PoolEvent.Type.DEAD)
                    .filter(e -> e.detail().contains("lost its I/O loop") && e.detail().contains("injected into the I/O loop")).count() >= 2);
            await().atMost(T).until(() -> {
                PoolStats s = py.stats();
                return s.state() == PoolState.RUNNING && s.idle() == 2
                        && s.instances().stream().noneMatch(i -> i.kernelId() == null || before.contains(i.kernelId()));
            });
            List<ExecutionResult> results = List.of(py.submit("1 + 1").get(T.toMillis(), TimeUnit.MILLISECONDS),
                    py.submit("2 + 2", ExecuteOptions.builder().instance(1).build()).get(T.toMillis(), TimeUnit.MILLISECONDS));
            assertThat(results).extracting(ExecutionResult::text).containsExactly("2", "4");
            assertThat(py.stats().deaths()).isGreaterThanOrEqualTo(2);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(testing::assertNoKernelLeft);
    }
}

package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpo.pool.kernel.TestKernels;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A python pool (ipykernel) and an r pool (IRkernel) side by side, under parallel load and scaling. */
class TwoLanguageStressTest {
    @TempDir
    Path dir;

    @Test
    void pythonAndRPoolsRunSideBySide() {
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).build());
            TestKernels.specOrSkip("ir");
            LanguagePool r = pools.createPool("r", "ir", PoolOptions.builder().size(2).strategy(Dispatch.ROUND_ROBIN).build());
            assertThat(pools.pools()).containsOnlyKeys("python", "r");
            ExecutionResult fromR = r.execute("x <- c(1, 2, 3)\nsum(x) * 7");
            assertThat(fromR.status()).isEqualTo(ExecutionStatus.OK);
            assertThat(fromR.text()).isEqualTo("[1] 42");
            assertThat(fromR.data()).containsKeys("text/plain", "text/html");
            ExecutionResult rError = r.execute("stop('boom')");
            assertThat(rError.status()).isEqualTo(ExecutionStatus.ERROR);
            assertThat(rError.error().evalue()).contains("boom");
            assertThat(py.execute("'py'").text()).isEqualTo("'py'");
        }
        testing.assertNoKernelLeft();
    }

    @Test
    void twoThousandJobsFromEightThreadsWithScalingEachValueOnce() throws Exception {
        PoolTesting testing = new PoolTesting();
        int jobs = 2000;
        Map<Integer, CompletableFuture<ExecutionResult>> futures = new ConcurrentHashMap<>();
        try (KernelPools pools = testing.pools(dir)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).build());
            TestKernels.specOrSkip("ir");
            LanguagePool r = pools.createPool("r", "ir", PoolOptions.builder().size(2).strategy(Dispatch.ROUND_ROBIN).build());
            AtomicInteger next = new AtomicInteger();
            CountDownLatch quarter = new CountDownLatch(jobs / 4);
            CountDownLatch threeQuarters = new CountDownLatch(jobs * 3 / 4);
            ExecutorService submitters = Executors.newFixedThreadPool(8);
            for (int t = 0; t < 8; t++) {
                submitters.execute(() -> {
                    int id;
                    while ((id = next.getAndIncrement()) < jobs) {
                        futures.put(id, id % 2 == 0 ? py.submit("print(" + id + ")") : r.submit("cat(" + id + ")"));
                        quarter.countDown();
                        threeQuarters.countDown();
                    }
                });
            }
            // Scale while jobs are in flight: up, then down below where we started.
            assertThat(quarter.await(120, TimeUnit.SECONDS)).isTrue();
            Future<?> scaleR = submitters.submit(() -> r.scale(3));
            py.scale(4);
            scaleR.get(120, TimeUnit.SECONDS);
            assertThat(threeQuarters.await(120, TimeUnit.SECONDS)).isTrue();
            py.scale(1);
            r.scale(1);
            submitters.shutdown();
            assertThat(submitters.awaitTermination(120, TimeUnit.SECONDS)).isTrue();

            Map<Integer, Integer> seen = new HashMap<>();
            for (int id = 0; id < jobs; id++) {
                ExecutionResult result = futures.get(id).get(300, TimeUnit.SECONDS);
                assertThat(result.status()).as("job %d", id).isEqualTo(ExecutionStatus.OK);
                seen.merge(Integer.parseInt(result.stdout().strip()), 1, Integer::sum);
            }
            assertThat(seen).hasSize(jobs);
            for (int id = 0; id < jobs; id++) {
                assertThat(seen.get(id)).as("value %d came back once", id).isEqualTo(1);
            }
            assertThat(py.stats().ok() + r.stats().ok()).isEqualTo(jobs);
            assertThat(py.stats().size()).isEqualTo(1);
            assertThat(r.stats().size()).isEqualTo(1);
        }
        testing.assertNoKernelLeft();
        assertThat(testing.pids).hasSizeGreaterThanOrEqualTo(7);
    }

}

package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.KERNEL_ID;
import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** maxExecutions and maxLifetime on real ipykernels: kernels are replaced, never under a job, never below the pool's size. */
class RecyclingTest {
    @TempDir
    Path dir;

    @Test
    void maxExecutionsRecyclesAKernelAfterItsLastJobAndNoJobFails() throws Exception {
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).maxExecutions(5).build());
            Set<String> kernels = new LinkedHashSet<>();
            for (int i = 0; i < 12; i++) {
                ExecutionResult r = py.execute("x = globals().get('x', 0) + 1; (x, " + KERNEL_ID + ")");
                assertThat(r.status()).as("job %d: %s", i, r).isEqualTo(ExecutionStatus.OK);
                kernels.add(r.kernelId());
                // Each kernel counts its own jobs: the sixth job is the first of a new kernel.
                assertThat(r.text()).startsWith("(" + (i % 5 + 1) + ", ");
            }
            assertThat(kernels).hasSizeGreaterThanOrEqualTo(3);
            PoolStats s = py.stats();
            assertThat(s.errors() + s.kernelDied() + s.timeouts()).isZero();
            assertThat(s.reason(PoolEvent.Reason.EXECUTIONS)).isEqualTo(2);
            assertThat(s.deaths()).isZero();
            assertThat(s.restarts()).as("a recycle is not a restart").isZero();
            await().atMost(T).until(() -> testing.events.stream().filter(e -> e.reason() == PoolEvent.Reason.EXECUTIONS).count() == 2);
            PoolEvent retired = testing.events.stream().filter(e -> e.reason() == PoolEvent.Reason.EXECUTIONS).findFirst().orElseThrow();
            assertThat(retired.type()).isEqualTo(PoolEvent.Type.RETIRED);
            assertThat(retired.instance()).isZero();
            assertThat(retired.detail()).isEqualTo("5");
            assertThat(retired.toString()).contains("retired").contains("executions 5");
        }
        testing.assertNoKernelLeft();
    }

    @Test
    void maxLifetimeRecyclesIdleKernelsNeverCutsAJobAndKeepsTheFixedPoolsSize() throws Exception {
        PoolTesting testing = new PoolTesting();
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        try (KernelPools pools = testing.pools(dir)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2)
                    .maxLifetime(Duration.ofSeconds(3)).init("import time").build());
            // The pool's size (live kernels) and its serving instances, sampled every 10 ms through the recycles.
            AtomicInteger smallest = new AtomicInteger(Integer.MAX_VALUE);
            AtomicInteger fewestServing = new AtomicInteger(Integer.MAX_VALUE);
            sampler.scheduleAtFixedRate(() -> {
                PoolStats s = py.stats();
                if (s.state() == PoolState.RUNNING) {
                    smallest.accumulateAndGet(s.size(), Math::min);
                    int serving = (int) s.instances().stream().filter(i -> i.state() != InstanceState.RESTARTING).count();
                    fewestServing.accumulateAndGet(serving, Math::min);
                }
            }, 0, 10, TimeUnit.MILLISECONDS);

            // A 4-second job on instance 0, well past its kernel's 3-second lifetime: it must run to the end.
            CompletableFuture<ExecutionResult> longJob = py.submit("time.sleep(4); 'slept'",
                    ExecuteOptions.builder().instance(0).build());
            List<ExecutionResult> results = new ArrayList<>();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
            while (System.nanoTime() < end) {
                results.add(py.execute("time.sleep(0.05); " + KERNEL_ID));
            }
            ExecutionResult slept = longJob.get(30, TimeUnit.SECONDS);
            assertThat(slept.status()).isEqualTo(ExecutionStatus.OK);
            assertThat(slept.text()).isEqualTo("'slept'");
            assertThat(results).allSatisfy(r -> assertThat(r.status()).isEqualTo(ExecutionStatus.OK));

            PoolStats s = py.stats();
            assertThat(s.reason(PoolEvent.Reason.LIFETIME)).as("recycles in 12 s of 3-s lifetimes").isGreaterThanOrEqualTo(2);
            assertThat(s.kernelDied() + s.timeouts() + s.deaths()).isZero();
            assertThat(results.stream().map(ExecutionResult::kernelId).distinct().count()).isGreaterThanOrEqualTo(3);
            sampler.shutdown();
            assertThat(sampler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            assertThat(smallest.get()).as("live kernels during the recycles").isGreaterThanOrEqualTo(2);
            assertThat(fewestServing.get()).as("instances with a kernel during the recycles").isEqualTo(2);
            assertThat(testing.events).filteredOn(e -> e.reason() == PoolEvent.Reason.LIFETIME)
                    .allSatisfy(e -> assertThat(e.detail()).isEqualTo("3s"));
        } finally {
            sampler.shutdownNow();
        }
        testing.assertNoKernelLeft();
    }
}

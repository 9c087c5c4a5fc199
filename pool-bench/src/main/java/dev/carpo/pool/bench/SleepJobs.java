package dev.carpo.pool.bench;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 3. Sleep-bound jobs ({@code time.sleep(0.01)}) with 1, 2 and 4 kernels: jobs per second, to
 * compare with the ideal N / (10 ms + one round trip).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
public class SleepJobs {
    @Param({"python3", "xpython"})
    public String spec;
    @Param({"1", "2", "4"})
    public int kernels;

    private KernelPools pools;
    private LanguagePool pool;

    @Setup
    public void start() {
        pools = BenchKernels.pools(null);
        pool = pools.createPool("bench", spec, PoolOptions.builder().size(kernels).init("import time").build());
    }

    @TearDown
    public void stop() {
        pools.close();
    }

    @Benchmark
    @OperationsPerInvocation(PoolThroughput.IN_FLIGHT)
    public List<ExecutionResult> sleep10ms() throws Exception {
        return PoolThroughput.submitAll(pool, "time.sleep(0.01)", PoolThroughput.IN_FLIGHT);
    }
}

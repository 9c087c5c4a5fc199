package dev.carpo.pool.bench;

import dev.carpo.pool.Dispatch;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 2. Pool throughput for tiny jobs ({@code 1}) with 1, 2 and 4 kernels, both strategies: one
 * submitting thread keeping 64 jobs in flight, and 16 threads each running jobs one after another.
 * Scores are jobs per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
public class PoolThroughput {
    static final int IN_FLIGHT = 64;

    @Param({"python3", "xpython"})
    public String spec;
    @Param({"1", "2", "4"})
    public int kernels;
    @Param({"ROUND_ROBIN", "LEAST_BUSY"})
    public Dispatch strategy;

    private KernelPools pools;
    private LanguagePool pool;

    @Setup
    public void start() {
        pools = BenchKernels.pools(null);
        pool = pools.createPool("bench", spec, PoolOptions.builder().size(kernels).strategy(strategy).build());
    }

    @TearDown
    public void stop() {
        pools.close();
    }

    @Benchmark
    @OperationsPerInvocation(IN_FLIGHT)
    public List<ExecutionResult> oneSubmitter() throws Exception {
        return submitAll(pool, "1", IN_FLIGHT);
    }

    @Benchmark
    @Threads(16)
    public ExecutionResult sixteenSubmitters() {
        return pool.execute("1");
    }

    static List<ExecutionResult> submitAll(LanguagePool pool, String code, int n) throws Exception {
        List<CompletableFuture<ExecutionResult>> futures = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            futures.add(pool.submit(code));
        }
        List<ExecutionResult> results = new ArrayList<>(n);
        for (CompletableFuture<ExecutionResult> f : futures) {
            results.add(f.get(120, TimeUnit.SECONDS));
        }
        return results;
    }
}

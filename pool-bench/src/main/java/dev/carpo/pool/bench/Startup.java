package dev.carpo.pool.bench;

import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelOptions;
import dev.carpo.pool.kernel.KernelRuntime;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** 6. Start-up, one shot each: one kernel to ready; a pool of 8 to ready; {@code scale(2 -> 8)}. */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
public class Startup {
    @Param({"python3", "xpython"})
    public String spec;

    private KernelRuntime runtime;
    private KernelPools pools;

    @Setup(Level.Invocation)
    public void fresh() {
        runtime = KernelRuntime.create();
        pools = BenchKernels.pools(null);
    }

    @TearDown(Level.Invocation)
    public void close() {
        runtime.close();
        pools.close();
    }

    @Benchmark
    public Kernel oneKernelToReady() throws Exception {
        return runtime.start(BenchKernels.spec(spec), KernelOptions.defaults()).get(120, TimeUnit.SECONDS);
    }

    @Benchmark
    public LanguagePool poolOfEightToReady() {
        return pools.createPool("bench", spec, PoolOptions.builder().size(8).build());
    }

    /** The pool of two is started in the measured call's own setup, so only the scaling is timed. */
    @Benchmark
    public LanguagePool scaleTwoToEight(TwoReady ready) {
        ready.pool.scale(8);
        return ready.pool;
    }

    @State(Scope.Thread)
    public static class TwoReady {
        @Param({"python3", "xpython"})
        public String spec;
        KernelPools pools;
        LanguagePool pool;

        @Setup(Level.Invocation)
        public void start() {
            pools = BenchKernels.pools(null);
            pool = pools.createPool("bench", spec, PoolOptions.builder().size(2).build());
        }

        @TearDown(Level.Invocation)
        public void stop() {
            pools.close();
        }
    }
}

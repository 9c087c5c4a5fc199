package dev.carpo.pool.bench;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelExecution;
import dev.carpo.pool.kernel.KernelOptions;
import dev.carpo.pool.kernel.KernelRuntime;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 4. Dispatch overhead: the same sequential {@code execute("1")} on a kernel driven directly, on a
 * pool of one, and 5. on a pool of one publishing its metrics to a Prometheus registry.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// Three forks and five iterations: the pool's few percent over the bare kernel is smaller than one
// fork's spread on a 2-core VM, so fewer leaves error bars wider than the effect measured.
@Fork(3)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
public class DispatchOverhead {
    @State(Scope.Benchmark)
    public static class Direct {
        @Param({"python3", "xpython"})
        public String spec;
        KernelRuntime runtime;
        Kernel kernel;

        @Setup
        public void start() throws Exception {
            runtime = KernelRuntime.create();
            kernel = runtime.start(BenchKernels.spec(spec), KernelOptions.defaults()).get(120, TimeUnit.SECONDS);
        }

        @TearDown
        public void stop() {
            runtime.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Pooled {
        @Param({"python3", "xpython"})
        public String spec;
        KernelPools pools;
        LanguagePool pool;

        @Setup
        public void start() {
            pools = BenchKernels.pools(null);
            pool = pools.createPool("bench", spec, PoolOptions.builder().size(1).build());
        }

        @TearDown
        public void stop() {
            pools.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Metered {
        @Param({"python3", "xpython"})
        public String spec;
        KernelPools pools;
        LanguagePool pool;

        @Setup
        public void start() {
            pools = BenchKernels.pools(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
            pool = pools.createPool("bench", spec, PoolOptions.builder().size(1).build());
        }

        @TearDown
        public void stop() {
            pools.close();
        }
    }

    @Benchmark
    public KernelExecution direct(Direct s) {
        return s.kernel.execute("1", Duration.ofSeconds(30));
    }

    @Benchmark
    public ExecutionResult poolOfOne(Pooled s) {
        return s.pool.execute("1");
    }

    @Benchmark
    public ExecutionResult poolOfOneWithMetrics(Metered s) {
        return s.pool.execute("1");
    }
}

package dev.carpo.pool.bench;

import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelExecution;
import dev.carpo.pool.kernel.KernelOptions;
import dev.carpo.pool.kernel.KernelRuntime;
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
 * 1. One warm kernel, sequential {@code execute("1")}: a round trip is execute_reply plus iopub
 * idle. Average time, and sample mode for p50/p99.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class KernelRoundTrip {
    @Param({"python3", "xpython"})
    public String spec;

    private KernelRuntime runtime;
    private Kernel kernel;

    @Setup
    public void start() throws Exception {
        runtime = KernelRuntime.create();
        kernel = runtime.start(BenchKernels.spec(spec), KernelOptions.defaults()).get(120, TimeUnit.SECONDS);
    }

    @TearDown
    public void stop() {
        runtime.close();
    }

    @Benchmark
    public KernelExecution execute() {
        return kernel.execute("1", Duration.ofSeconds(30));
    }
}

package dev.carpo.pool.bench;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.Sandbox;
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
 * 6. What the sandbox costs a round trip: sequential {@code execute("1")} on a pool of one, its
 * kernel as usual ({@code sandbox=none}, loopback TCP), sandboxed with network ({@code network}:
 * the same TCP channels, but HOME on the sandbox's tmpfs, a clean environment), or sandboxed
 * without network ({@code no-network}: Unix sockets, every message through the ipc relay's thread,
 * one more hop each way). {@code no-network} against {@code network} is the relay's cost; against
 * {@code none}, the sandbox's. Average time, and sample mode for p50/p99.
 *
 * <pre>{@code
 * java -jar pool-bench/target/benchmarks.jar SandboxRoundTrip -p spec=xpython
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 4, time = 3)
public class SandboxRoundTrip {
    @Param({"python3", "xpython"})
    public String spec;
    @Param({"none", "network", "no-network"})
    public String sandbox;

    private KernelPools pools;
    private LanguagePool pool;

    @Setup
    public void start() {
        pools = BenchKernels.pools(null);
        pool = pools.createPool("bench", spec, PoolOptions.builder().size(1)
                .sandbox(sandbox.equals("none") ? null : Sandbox.builder().network(sandbox.equals("network")).build()).build());
    }

    @TearDown
    public void stop() {
        pools.close();
    }

    @Benchmark
    public ExecutionResult execute() {
        return pool.execute("1");
    }
}

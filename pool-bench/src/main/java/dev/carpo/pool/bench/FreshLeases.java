package dev.carpo.pool.bench;

import dev.carpo.pool.KernelLease;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
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

/**
 * 8. Acquiring a fresh lease ({@code freshLeases(true)}, a pool of 3) while two unused kernels are
 * warm (the third may still be starting) or all three: the time {@code lease()} takes, one shot per iteration. Each lease is used (one tiny job) and
 * released outside the measured call, so its kernel is discarded and replaced before the next shot.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3)
@Measurement(iterations = 20)
public class FreshLeases {
    @Param({"python3", "xpython"})
    public String spec;

    /** Idle kernels before each shot: 2 (the third may still be starting) or 3 (no start running). */
    @Param({"2", "3"})
    public int warm;

    private KernelPools pools;
    private LanguagePool pool;
    private KernelLease lease;

    @Setup(Level.Trial)
    public void start() {
        pools = BenchKernels.pools(null);
        pool = pools.createPool("bench", spec, PoolOptions.builder().size(3).freshLeases(true).build());
    }

    /** {@code warm} spares before each shot: released kernels are replaced in the background, so wait for them. */
    @Setup(Level.Invocation)
    public void twoWarm() throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(1);
        dev.carpo.pool.PoolListener l = e -> {
            if (pool.stats().idle() >= warm) {
                ready.countDown();
            }
        };
        pool.addListener(l);
        try {
            if (pool.stats().idle() < warm && !ready.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException("no " + warm + " warm kernels within 120 s: " + pool.stats());
            }
        } finally {
            pool.removeListener(l);
        }
    }

    @Benchmark
    public KernelLease acquire() {
        lease = pool.lease(Duration.ofSeconds(60));
        return lease;
    }

    @TearDown(Level.Invocation)
    public void useAndRelease() {
        lease.execute("1");
        lease.close();
    }

    @TearDown(Level.Trial)
    public void stop() {
        pools.close();
    }
}

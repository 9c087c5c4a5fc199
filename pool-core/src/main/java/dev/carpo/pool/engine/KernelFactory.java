package dev.carpo.pool.engine;

import dev.carpo.pool.kernel.ExecuteRequest;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelDiedException;
import dev.carpo.pool.kernel.KernelException;
import dev.carpo.pool.kernel.KernelExecution;
import dev.carpo.pool.kernel.KernelOptions;
import dev.carpo.pool.kernel.KernelRuntime;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.kernel.KernelStartException;
import dev.carpo.pool.kernel.ReplyStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.commons.pool2.BasePooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;

/**
 * The commons-pool2 factory over kernels: create = launch + ready + setup code, validate = the
 * kernel is alive (process running, heartbeat answering), destroy = clean shutdown (not awaited,
 * so the shared evictor thread never blocks on a process).
 *
 * <p>{@code create} blocks for a kernel's whole start-up, so it is only ever called from the pool's
 * own starter threads, never from the evictor (the pool keeps {@code minIdle} at 0). The
 * {@code GenericObjectPool} it serves is configured here too ({@link #objectPool}).
 */
final class KernelFactory extends BasePooledObjectFactory<PooledKernel> {
    private final KernelRuntime runtime;
    private final KernelSpec spec;
    private final KernelOptions options;
    private final Duration setupTimeout;
    private final Supplier<List<String>> setupCode;
    private final Consumer<Kernel> onLaunched;
    private final BiConsumer<PooledKernel, KernelDiedException> onDeath;

    /**
     * @param setupCode the pool's init code and broadcasts so far, run in order on each new kernel
     * @param onLaunched called when a kernel process is running, before it is ready
     * @param onDeath called once when a created kernel dies or is shut down
     */
    KernelFactory(KernelRuntime runtime, KernelSpec spec, KernelOptions options, Duration setupTimeout,
                         Supplier<List<String>> setupCode, Consumer<Kernel> onLaunched,
                         BiConsumer<PooledKernel, KernelDiedException> onDeath) {
        this.runtime = runtime;
        this.spec = spec;
        this.options = options;
        this.setupTimeout = setupTimeout;
        this.setupCode = setupCode;
        this.onLaunched = onLaunched;
        this.onDeath = onDeath;
    }

    /**
     * The commons-pool2 pool over this factory. The traps it avoids are listed in the package
     * documentation: minIdle 0 (the shared evictor thread never starts a kernel), maxIdle = max (a
     * returned kernel stays warm), maxTotal unbounded (no borrow ever waits), a finite maxWait all the
     * same, no JMX; idle kernels are validated and evicted
     * after {@code idleTimeout}.
     */
    GenericObjectPool<PooledKernel> objectPool(int max, Duration idleTimeout) {
        GenericObjectPoolConfig<PooledKernel> config = new GenericObjectPoolConfig<>();
        config.setJmxEnabled(false);
        // Unbounded: the engine bounds its starts (max, maxConcurrentStarts, successors). A bounded
        // maxTotal would make a borrow wait and fail as a start failure after maxWait, and while one
        // waits, invalidateObject creates a kernel on whatever thread invalidates.
        config.setMaxTotal(-1);
        config.setMaxIdle(max);
        config.setMinIdle(0);
        config.setBlockWhenExhausted(true);
        config.setMaxWait(Duration.ofSeconds(2));
        config.setTestOnBorrow(true);
        config.setTestWhileIdle(true);
        config.setMinEvictableIdleDuration(idleTimeout);
        config.setTimeBetweenEvictionRuns(evictionInterval(idleTimeout));
        config.setNumTestsPerEvictionRun(-1);
        return new GenericObjectPool<>(this, config);
    }

    /** A quarter of the idle timeout, between 100 ms and 30 s. */
    private static Duration evictionInterval(Duration idleTimeout) {
        Duration quarter = idleTimeout.dividedBy(4);
        if (quarter.compareTo(Duration.ofMillis(100)) < 0) {
            return Duration.ofMillis(100);
        }
        return quarter.compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30) : quarter;
    }

    @Override
    public PooledKernel create() throws Exception {
        Kernel kernel = await(runtime.start(spec, options, onLaunched), options.startupTimeout().plusSeconds(10));
        List<String> setup = setupCode.get();
        List<KernelExecution> ran = new ArrayList<>();
        try {
            for (String code : setup) {
                KernelExecution r = await(kernel.execute(ExecuteRequest.builder(code).stopOnError(false)
                        .storeHistory(false).timeout(setupTimeout).build()), setupTimeout.plusSeconds(5));
                ran.add(r);
                if (r.status() != ReplyStatus.OK) {
                    throw new KernelStartException("kernelspec '" + spec.name() + "': init code failed on kernel "
                            + kernel.id() + " with " + (r.error() != null ? r.error() : r.status()) + ":\n" + code);
                }
            }
        } catch (RuntimeException e) {
            kernel.shutdown();
            throw e;
        }
        PooledKernel pooled = new PooledKernel(kernel, ran);
        kernel.onDeath().thenAccept(cause -> onDeath.accept(pooled, cause));
        return pooled;
    }

    @Override
    public PooledObject<PooledKernel> wrap(PooledKernel kernel) {
        return new DefaultPooledObject<>(kernel);
    }

    @Override
    public boolean validateObject(PooledObject<PooledKernel> p) {
        return p.getObject().kernel().isAlive();
    }

    @Override
    public void destroyObject(PooledObject<PooledKernel> p) {
        p.getObject().kernel().shutdown();
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> future, Duration timeout) {
        try {
            return future.get(dev.carpo.pool.kernel.InputChecks.saturatedMillis(timeout), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof KernelException ke) {
                throw ke;
            }
            throw new KernelStartException(String.valueOf(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new KernelStartException("no answer within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KernelStartException("interrupted while starting a kernel", e);
        }
    }
}

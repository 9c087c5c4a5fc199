package dev.carpo.pool.engine;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelLease;
import dev.carpo.pool.kernel.KernelExecution;
import java.time.Duration;

/**
 * What the engine needs from the public front that owns it ({@code LanguagePool}): the API objects
 * whose constructors the API package keeps to itself. Both only build a value, so the engine may
 * call them under its lock.
 */
public interface PoolFront {
    /** The caller's result for one execution on instance {@code instance}. */
    ExecutionResult result(KernelExecution execution, int instance, String kernelId, Duration queueWait);

    /** The caller's handle for a lease just granted. */
    KernelLease lease(Lease lease);
}

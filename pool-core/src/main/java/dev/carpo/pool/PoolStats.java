package dev.carpo.pool;

import java.util.List;

/**
 * A snapshot of a pool.
 *
 * <p>Example: {@code PoolStats s = py.stats(); System.out.println(s.busy() + "/" + s.size() + " busy, " + s.queued() + " queued");}
 *
 * @param language the pool's language key
 * @param state where the pool stands
 * @param strategy its dispatch strategy
 * @param size live kernels: instances plus warm idle kernels an elastic pool keeps until its idle timeout
 * @param idle live kernels with nothing to do
 * @param busy instances running a job
 * @param leased instances under a lease
 * @param starting kernels being started
 * @param queued jobs waiting to run
 * @param min the pool's floor
 * @param max the pool's ceiling
 * @param submitted jobs accepted
 * @param ok jobs whose code ran without error
 * @param errors jobs whose code raised
 * @param aborted jobs the kernel aborted
 * @param timeouts jobs that timed out
 * @param cancelled jobs cancelled
 * @param rejected submissions refused (queue full, pool failed or closed)
 * @param kernelDied jobs lost to a kernel's death
 * @param kernelsStarted kernels started successfully
 * @param startFailures kernel starts that failed
 * @param restarts instances whose kernel was replaced after a death
 * @param deaths kernels that died while serving the pool, for every death reason
 * @param retired kernels the pool retired, for every retirement reason (idle, scale, lifetime, executions,
 *        lease_end, closed)
 * @param outputLimited jobs ended because their kernel sent a message over the output bound ({@link PoolOutputLimitException})
 * @param memoryLimited jobs lost because their kernel went over its memory limit ({@link PoolMemoryLimitException})
 * @param leasesLeaked leases held past {@link PoolOptions#leakDetectionThreshold()}
 * @param reasons kernels that left the pool, by why: every {@link PoolEvent.Reason}, zero where none did
 * @param failure the cause of the last start failure while FAILED, else {@code null}
 * @param instances each instance in order
 */
public record PoolStats(
        String language, PoolState state, Dispatch strategy,
        int size, int idle, int busy, int leased, int starting, int queued, int min, int max,
        long submitted, long ok, long errors, long aborted, long timeouts, long cancelled, long rejected,
        long kernelDied, long kernelsStarted, long startFailures, long restarts, long deaths, long retired,
        long outputLimited, long memoryLimited, long leasesLeaked, java.util.Map<PoolEvent.Reason, Long> reasons,
        String failure, List<Instance> instances) {

    public PoolStats {
        java.util.EnumMap<PoolEvent.Reason, Long> all = new java.util.EnumMap<>(PoolEvent.Reason.class);
        for (PoolEvent.Reason r : PoolEvent.Reason.values()) {
            all.put(r, reasons == null ? 0L : reasons.getOrDefault(r, 0L));
        }
        reasons = java.util.Collections.unmodifiableMap(all);
        instances = List.copyOf(instances);
    }

    /** How many kernels left the pool for {@code reason}. */
    public long reason(PoolEvent.Reason reason) {
        return reasons.get(reason);
    }

    /**
     * One instance.
     *
     * @param index 0-based instance index
     * @param kernelId its kernel, or {@code null} while restarting
     * @param pid its kernel's process id, or -1
     * @param state what it is doing
     * @param queued jobs waiting for this instance
     * @param executions jobs it has run
     * @param memoryBytes its kernel's resident memory, or -1 when unknown
     * @param cpuSeconds its kernel's CPU time (user + system), or -1 when unknown
     */
    public record Instance(int index, String kernelId, long pid, InstanceState state, int queued, long executions,
                           long memoryBytes, double cpuSeconds) {
    }
}

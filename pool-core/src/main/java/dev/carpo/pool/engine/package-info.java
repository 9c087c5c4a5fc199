/**
 * The engine under {@link dev.carpo.pool.LanguagePool}. Not a public API: types here may change
 * without notice (the few public ones are public only so the API package can reach them).
 *
 * <h2>One file per job</h2>
 * <ul>
 *   <li>{@code PoolEngine}: a pool's state under one lock, and the entry points the front calls;
 *       the rule for that lock (decide under it, act after it, through {@code Effects}).</li>
 *   <li>{@code Dispatcher}: placement (round-robin, least-busy, a named instance, a lease), the
 *       pump that hands waiting work to free instances, and every way a job ends.</li>
 *   <li>{@code KernelSupply}: starts for the floor, for waiting work and for dead instances;
 *       taking a kernel into service; retirement and elastic shrink; a kernel's death.</li>
 *   <li>{@code StartCircuit} and {@code Backoff}: failed starts in a row, the open circuit, retries.</li>
 *   <li>{@code Interrupts}: interrupting the right cell, the fallback, the grace and the kill.</li>
 *   <li>{@code SetupCode}: init code and broadcasts, and a new kernel's catch-up on them.</li>
 *   <li>{@code Recycling}: kernels due for retirement ({@code maxLifetime}, {@code maxExecutions}) and
 *       the successor that takes over once they are idle; fresh leases' discard of used kernels.</li>
 *   <li>{@code LeaseLeaks}: leases held past {@code leakDetectionThreshold}, logged with the stack that took them.</li>
 *   <li>{@code Instance} ({@link dev.carpo.pool.InstanceState}) and {@code Job} ({@code JobState}):
 *       the two state machines, changed only through their methods.</li>
 *   <li>{@code PoolCounters}, {@code PoolEvents}: what is counted (every kernel that goes, by
 *       {@link dev.carpo.pool.PoolEvent.Reason}), what listeners hear.</li>
 *   <li>{@code KernelFactory}, {@code PooledKernel}: commons-pool2's side, below.</li>
 * </ul>
 *
 * <h2>How commons-pool2 and the dispatcher share the kernels</h2>
 * commons-pool2 is made for exclusive borrow and return of interchangeable objects; a kernel pool
 * also needs placement (round-robin, {@code instance = k}), per-instance queues and leases. So:
 * <ul>
 *   <li>The {@code GenericObjectPool} owns lifecycle: {@code KernelFactory}
 *       creates (launch, ready, init code), validates (alive and heartbeating) and destroys (clean
 *       shutdown); it counts what was created, borrowed and destroyed; and its evictor retires
 *       idle kernels.</li>
 *   <li>The dispatcher <em>borrows</em> the kernels it runs work on and
 *       holds them as its instances, in order: instance {@code k} is the k-th held kernel, so
 *       placement is predictable. Jobs, queues and leases exist only on held kernels.</li>
 *   <li>An elastic pool returns an extra kernel (one above {@code min}) to the {@code GenericObjectPool}
 *       only when it has no running job, no queued job and no lease. There it stays warm (a later
 *       borrow gets it back at once) until the evictor destroys it after {@code idleTimeout}. So
 *       housekeeping can never evict a kernel with work or a lease: such a kernel is borrowed, and
 *       the evictor only sees idle objects.</li>
 * </ul>
 * Known traps, handled: the evictor thread is shared by every commons-pool2 pool in the JVM, so
 * {@code minIdle} stays 0 (an evictor that tops up {@code minIdle} would start kernels on that
 * thread; the dispatcher keeps {@code min} kernels borrowed instead) and destroy does not wait for
 * the process; {@code maxIdle} is kept at {@code max} so a returned kernel is kept rather than
 * destroyed; {@code maxTotal} is unbounded, as the dispatcher bounds its own starts ({@code max},
 * {@code maxConcurrentStarts}, one successor per kernel due for recycling): with a bound, a borrow
 * could wait and fail as a start failure after {@code maxWait}, and while a borrow waits,
 * {@code invalidateObject} creates a kernel on the thread that invalidates;
 * borrows wait at most a finite {@code maxWait}; JMX registration is off.
 */
package dev.carpo.pool.engine;

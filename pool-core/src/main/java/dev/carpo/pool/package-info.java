/**
 * carpo-pool's public API: pools of live Jupyter kernels per language.
 *
 * <pre>{@code
 * try (KernelPools pools = KernelPools.create()) {
 *     LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().min(2).max(4).build());
 *     ExecutionResult r = py.execute("21 * 2");        // r.text() = "42"
 * }
 * }</pre>
 *
 * <p>{@link dev.carpo.pool.KernelPools} is the registry (one per application, like a connection
 * pool's data source); {@link dev.carpo.pool.LanguagePool} is one language's pool, a thin front
 * (argument checks, blocking waits, Javadoc) over its engine; {@link dev.carpo.pool.KernelLease} is a
 * lease's handle. Options, results, stats, states, events and failures are the value types beside
 * them. Only these types are here, and a test ({@code PublicApiTest}) pins their public members, so
 * an accidental change to the API fails the build.
 *
 * <h2>Layers</h2>
 * Dependencies point one way: the fronts ({@code KernelPools}, {@code LanguagePool},
 * {@code KernelLease}) use {@code dev.carpo.pool.engine} (the dispatcher, instance states, start
 * circuit, interrupts, setup catch-up, counters, events, commons-pool2 factory), which uses the value
 * types of this package (it builds the results, stats and exceptions callers get), then
 * {@code dev.carpo.pool.metrics}, {@code dev.carpo.pool.kernel} (kernelspecs, launch, one kernel),
 * {@code dev.carpo.pool.protocol} (the wire). HikariCP splits {@code HikariDataSource} and
 * {@code HikariPool} the same way. {@code dev.carpo.pool.server} is the kernel side of the
 * protocol, for carpo's own kernels.
 *
 * <h2>Threads</h2>
 * <ul>
 *   <li>Callers' threads: argument checks, then the engine's lock for a moment; blocking methods
 *       wait on a future with a bound.</li>
 *   <li>The I/O loop (one per {@code KernelPools}, {@code carpo-io-*}): every ZeroMQ socket, the
 *       heartbeats, message decoding; and, as a reply is read, the engine's reaction to it (under
 *       its lock for a moment, the next job's send) and the completion of the caller's future, so
 *       a caller blocked on it wakes with one hand-off. Bookkeeping only: every future completed
 *       there is a {@code CallbackFuture}, whose stages run elsewhere, and engine work that may
 *       block goes to the completers.</li>
 *   <li>Kernel callbacks ({@code carpo-callback-*}): output listeners and input handlers, per
 *       kernel in order (a reply waits for the listener calls queued before it); the stages of a
 *       bare kernel's futures.</li>
 *   <li>Completers ({@code carpo-complete-*}): the stages callers add to job and pool futures, and
 *       engine work that may block (commons-pool2 returns and invalidations), so neither can stall
 *       the I/O loop or the engine.</li>
 *   <li>Starters ({@code carpo-start-*}): borrow kernels from commons-pool2, which launches them
 *       and waits for them to be ready; never the evictor's thread.</li>
 *   <li>The timer ({@code carpo-timer-*}): job and lease timeouts, interrupt fallbacks and
 *       graces, start retries after a backoff.</li>
 *   <li>Events ({@code carpo-events-*}): pool listeners, in order.</li>
 *   <li>Process ({@code carpo-process-*}, in the kernel runtime): signals and process ends.</li>
 *   <li>Gateway ({@code carpo-gateway-*}, two per gateway): REST calls and WebSockets of remote kernels.</li>
 *   <li>The ipc relay ({@code carpo-ipc-relay}, one per JVM while a sandboxed kernel without network
 *       lives): copies bytes between JeroMQ's loopback TCP connections and the kernels' Unix sockets.</li>
 *   <li>The memory watchdog ({@code carpo-memory-watchdog}, one per JVM): /proc reads of kernels
 *       with a memory limit and no cgroup.</li>
 * </ul>
 * None of these grows with the number of kernels except the short-lived starters, bounded by
 * {@link dev.carpo.pool.PoolOptions#maxConcurrentStarts()} per pool.
 */
package dev.carpo.pool;

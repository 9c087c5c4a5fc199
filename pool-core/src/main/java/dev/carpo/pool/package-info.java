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
 * pool's data source); {@link dev.carpo.pool.LanguagePool} is one language's pool; options,
 * results, stats and failures are the value types beside them. Layers below, with dependencies
 * pointing down only: {@code dev.carpo.pool.pool} (commons-pool2 factory), {@code dev.carpo.pool.kernel}
 * (kernelspecs, launch, one kernel), {@code dev.carpo.pool.protocol} (the wire).
 *
 * <p>The dispatcher itself lives here, package-private beside {@code LanguagePool}, rather than in
 * {@code dev.carpo.pool.pool}: it builds and completes the public result and exception types, so
 * putting it below them would make that package depend upward on this one.
 */
package dev.carpo.pool;

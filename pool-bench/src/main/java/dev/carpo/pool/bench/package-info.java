/**
 * JMH benchmarks against real kernels, and {@link dev.carpo.pool.bench.Ours}, carpo's side of
 * {@code pool-bench/compare/run.sh}. Speed and memory targets live here and in BENCHMARKS.md,
 * never as timed assertions in tests.
 */
package dev.carpo.pool.bench;

/**
 * Metrics: {@link dev.carpo.pool.metrics.PoolMeters} binds one pool's Micrometer meters (it reads
 * the pool through {@link dev.carpo.pool.metrics.PoolMeters.Source}, which the engine implements),
 * {@link dev.carpo.pool.metrics.MetricsEndpoint} serves a Prometheus registry over the JDK's HTTP
 * server, and {@link dev.carpo.pool.metrics.ProcessUsage} reads a kernel's memory and CPU from
 * {@code /proc}. The README lists every meter. Not a public API apart from {@code MetricsEndpoint}
 * and {@code ProcessUsage}: {@code PoolMeters} may change without notice.
 */
package dev.carpo.pool.metrics;

/**
 * Metrics plumbing with no dependency on the pools: {@link dev.carpo.pool.metrics.MetricsEndpoint}
 * serves a Prometheus registry over the JDK's HTTP server, and
 * {@link dev.carpo.pool.metrics.ProcessUsage} reads a kernel's memory and CPU from {@code /proc}.
 * The meters themselves are bound per pool by the package-private {@code PoolMeters} beside
 * {@code LanguagePool}, which reads the pool's state; the README lists every meter.
 */
package dev.carpo.pool.metrics;

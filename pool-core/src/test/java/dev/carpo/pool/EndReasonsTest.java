package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.PoolEvent.Reason;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every way a local kernel leaves its pool, produced on real ipykernels, and seen with its reason in
 * the event, in the stats and in the Prometheus scrape. (gateway_lost: GatewayPoolTest.)
 */
class EndReasonsTest {
    @TempDir
    Path dir;

    private final PoolTesting testing = new PoolTesting();
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    /** The event for {@code reason} on {@code pool}, of the type the reason implies, once. */
    private PoolEvent event(String pool, Reason reason) {
        await().atMost(T).until(() -> testing.events.stream().anyMatch(e -> e.language().equals(pool) && e.reason() == reason));
        PoolEvent e = testing.events.stream().filter(x -> x.language().equals(pool) && x.reason() == reason).findFirst().orElseThrow();
        assertThat(e.type()).isEqualTo(reason.isDeath() ? PoolEvent.Type.DEAD : PoolEvent.Type.RETIRED);
        return e;
    }

    private void seen(LanguagePool pool, Reason reason, long n) {
        await().atMost(T).until(() -> pool.stats().reason(reason) == n);
        String meter = reason.isDeath() ? "carpo_kernel_deaths_total" : "carpo_kernel_retirements_total";
        assertThat(registry.scrape()).contains(meter + "{language=\"python\",location=\"local\",pool=\"" + pool.language()
                + "\",reason=\"" + reason.label() + "\"} " + n + ".0");
        event(pool.language(), reason);
    }

    @Test
    void everyRetirementAndDeathCarriesItsReasonInEventsStatsAndMetrics() throws Exception {
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).meterRegistry(registry).build()) {
            pools.addListener(testing);

            // executions, then lifetime, on one kernel's pool.
            LanguagePool recycled = pools.createPool("recycled", "python3", PoolOptions.builder().size(1).maxExecutions(2)
                    .maxLifetime(Duration.ofSeconds(4)).build());
            recycled.execute("1");
            recycled.execute("2");
            seen(recycled, Reason.EXECUTIONS, 1);
            assertThat(event("recycled", Reason.EXECUTIONS).detail()).isEqualTo("2");
            await().atMost(T).until(() -> recycled.stats().reason(Reason.LIFETIME) >= 1);
            assertThat(event("recycled", Reason.LIFETIME).detail()).isEqualTo("4s");
            assertThat(registry.scrape()).contains("reason=\"lifetime\"} 1.0");

            // idle (an elastic pool's extra, kept warm) and scale.
            LanguagePool elastic = pools.createPool("elastic", "python3", PoolOptions.builder().min(0).max(2)
                    .idleTimeout(Duration.ofSeconds(30)).build());
            elastic.execute("1");
            seen(elastic, Reason.IDLE, 1);
            elastic.scale(2);
            elastic.scale(1);
            seen(elastic, Reason.SCALE, 1);
            assertThat(event("elastic", Reason.SCALE).detail()).isEqualTo("to 1");

            // lease_end.
            LanguagePool fresh = pools.createPool("fresh", "python3", PoolOptions.builder().size(1).freshLeases(true).build());
            try (KernelLease lease = fresh.lease()) {
                lease.execute("x = 1");
            }
            seen(fresh, Reason.LEASE_END, 1);

            // The deaths, one after the other on one instance: each replacement serves a job first.
            LanguagePool doomed = pools.createPool("doomed", "python3", PoolOptions.builder().size(1).init("import os, time, signal")
                    .memoryLimit(256L << 20).heartbeatTimeout(Duration.ofSeconds(2)).interruptGrace(Duration.ofSeconds(1))
                    .maxStartAttempts(10).build());
            assertThatThrownBy(() -> doomed.execute("b = bytearray(1 << 30); b[::4096] = b'x' * len(b[::4096])"))
                    .isInstanceOf(PoolMemoryLimitException.class);
            seen(doomed, Reason.MEMORY_LIMIT, 1);

            await().atMost(T).until(() -> doomed.execute("1").status() == ExecutionStatus.OK);
            assertThatThrownBy(() -> doomed.execute("os.kill(os.getpid(), signal.SIGKILL)")).isInstanceOf(PoolKernelDiedException.class);
            seen(doomed, Reason.CRASH, 1);
            assertThat(event("doomed", Reason.CRASH).detail()).contains("signal 9");

            assertThat(doomed.execute("1").status()).isEqualTo(ExecutionStatus.OK);
            CompletableFuture<ExecutionResult> frozen = doomed.submit("print('stopping', flush=True); time.sleep(1); 'never'");
            long pid = doomed.stats().instances().get(0).pid();
            await().atMost(T).until(() -> doomed.stats().busy() == 1);
            new ProcessBuilder("kill", "-s", "STOP", Long.toString(pid)).start().waitFor(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> frozen.get(60, TimeUnit.SECONDS)).cause().isInstanceOf(PoolKernelDiedException.class);
            seen(doomed, Reason.HEARTBEAT, 1);

            assertThat(doomed.execute("1").status()).isEqualTo(ExecutionStatus.OK);
            assertThatThrownBy(() -> doomed.execute("signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)",
                    ExecuteOptions.builder().timeout(Duration.ofMillis(500)).build())).isInstanceOf(PoolTimeoutException.class);
            seen(doomed, Reason.INTERRUPT_FAILED, 1);
            assertThat(doomed.execute("'healed'").text()).isEqualTo("'healed'");
            PoolStats after = doomed.stats();
            assertThat(after.deaths()).isEqualTo(4);
            assertThat(after.retired()).isZero();
            assertThat(after.reasons().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(4);

            // closed: in the event and the stats (a closed pool's meters go with it).
            long before = testing.events.stream().filter(e -> e.reason() == Reason.CLOSED).count();
            recycled.close();
            assertThat(recycled.stats().reason(Reason.CLOSED)).isEqualTo(1);
            await().atMost(T).until(() -> testing.events.stream().filter(e -> e.reason() == Reason.CLOSED).count() == before + 1);
            assertThat(event("recycled", Reason.CLOSED).instance()).isZero();
        }
        testing.assertNoKernelLeft();
    }
}

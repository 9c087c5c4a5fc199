package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.kernel.ExecuteRequest;
import dev.carpo.pool.kernel.InputChecks;
import dev.carpo.pool.kernel.KernelOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad values given to the API: each is refused with a message naming it, or (a huge duration)
 * means "no limit"; a refusal has no effect. The argument checks need no kernel; the rest share
 * one single-kernel pool.
 */
class BadInputTest {
    static final Duration HUGE = Duration.ofSeconds(Long.MAX_VALUE);
    static final Duration FOREVER = ChronoUnit.FOREVER.getDuration();
    static final String LONE = "print('\uD800')";
    static final String LONE_MESSAGE = "code has an unpaired surrogate U+D800 at index 7 (line 1, column 8); it cannot be sent as UTF-8";

    // ---- durations ----

    @Test
    void hugeDurationsMeanNoLimitAndAreClampedEverywhere() {
        assertThat(PoolOptions.MAX_DURATION).isEqualTo(Duration.ofSeconds(1_000_000));
        for (Duration d : List.of(HUGE, FOREVER, Duration.ofDays(365))) {
            assertThat(ExecuteOptions.builder().timeout(d).build().timeout()).isEqualTo(PoolOptions.MAX_DURATION);
            PoolOptions o = PoolOptions.builder().defaultTimeout(d).idleTimeout(d).startupTimeout(d).restartBackoff(d)
                    .interruptGrace(d).leaseTimeout(d).heartbeatTimeout(d).shutdownGrace(d).build();
            assertThat(List.of(o.defaultTimeout(), o.idleTimeout(), o.startupTimeout(), o.restartBackoff(), o.interruptGrace(),
                    o.leaseTimeout(), o.heartbeatTimeout(), o.shutdownGrace())).containsOnly(PoolOptions.MAX_DURATION);
            // What the pool derives from them does not overflow either.
            assertThat(o.withBounds(1, 1).maxStartWait(PoolOptions.MAX_POOL_SIZE).toNanos()).isPositive();
            assertThat(PoolOptions.builder().startupTimeout(d).maxStartAttempts(Integer.MAX_VALUE).maxConcurrentStarts(1)
                    .build().maxStartWait(PoolOptions.MAX_POOL_SIZE).toMillis()).isPositive();
            KernelOptions k = KernelOptions.builder().startupTimeout(d).heartbeatInterval(d).heartbeatTimeout(d)
                    .shutdownGrace(d).requestTimeout(d).build();
            assertThat(List.of(k.startupTimeout(), k.heartbeatInterval(), k.heartbeatTimeout(), k.shutdownGrace(),
                    k.requestTimeout())).containsOnly(InputChecks.MAX_DURATION);
            assertThat(ExecuteRequest.builder("1").timeout(d).build().timeout()).isEqualTo(InputChecks.MAX_DURATION);
        }
        Duration tenSeconds = Duration.ofSeconds(10);
        assertThat(ExecuteOptions.builder().timeout(tenSeconds).build().timeout()).isEqualTo(tenSeconds);
        assertThat(InputChecks.saturatedMillis(FOREVER)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void nonPositiveDurationsAreStillRefused() {
        assertThatThrownBy(() -> ExecuteOptions.builder().timeout(Duration.ofSeconds(-1)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("ExecuteOptions.timeout must be positive, got PT-1S");
        assertThatThrownBy(() -> PoolOptions.builder().startupTimeout(Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("PoolOptions.startupTimeout must be a positive duration, got PT0S");
    }

    // ---- code that cannot be sent ----

    @Test
    void loneSurrogatesAreRefusedNamingTheirPosition() {
        assertThatThrownBy(() -> ExecuteRequest.of(LONE)).isInstanceOf(IllegalArgumentException.class).hasMessage(LONE_MESSAGE);
        assertThatThrownBy(() -> ExecuteRequest.of("x = 1\ny = '\uDC01'"))
                .hasMessage("code has an unpaired surrogate U+DC01 at index 11 (line 2, column 6); it cannot be sent as UTF-8");
        assertThatThrownBy(() -> ExecuteRequest.of("x = '\uD83D'"))
                .hasMessage("code has an unpaired surrogate U+D83D at index 5 (line 1, column 6); it cannot be sent as UTF-8");
        assertThat(ExecuteRequest.of("print('\uD83D\uDE00')").code()).isEqualTo("print('😀')"); // a pair is fine
        assertThatThrownBy(() -> PoolOptions.builder().init("import os").init(LONE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("PoolOptions.init[1] has an unpaired surrogate U+D800 at index 7 (line 1, column 8); it cannot be sent as UTF-8");
        assertThatThrownBy(() -> PoolOptions.builder().init(null)).hasMessage("PoolOptions.init[0] is null");
    }

    // ---- other options ----

    @Test
    void maxQueuedZeroIsRefused() {
        assertThatThrownBy(() -> PoolOptions.builder().maxQueued(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("PoolOptions.maxQueued must be >= 1, got 0");
        assertThat(PoolOptions.builder().maxQueued(1).build().maxQueued()).isEqualTo(1);
    }

    @Test
    void nullOrMalformedEnvironmentVariablesAreRefusedNamingThem() {
        assertThatThrownBy(() -> PoolOptions.builder().env("A", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("PoolOptions.env: variable 'A' has a null value");
        assertThatThrownBy(() -> PoolOptions.builder().env(null, "1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("PoolOptions.env: a variable name is null (value \"1\")");
        assertThatThrownBy(() -> PoolOptions.builder().env("A=B", "1"))
                .hasMessage("PoolOptions.env: variable name \"A=B\" must be non-empty, without '=' or NUL");
        assertThatThrownBy(() -> PoolOptions.builder().env("", "1"))
                .hasMessage("PoolOptions.env: variable name \"\" must be non-empty, without '=' or NUL");
        Map<String, String> withNull = new HashMap<>();
        withNull.put("B", null);
        assertThatThrownBy(() -> PoolOptions.builder().env(withNull))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("PoolOptions.env: variable 'B' has a null value");
        assertThatThrownBy(() -> PoolOptions.builder().env((Map<String, String>) null))
                .hasMessage("PoolOptions.env: the map of variables is null");
        assertThatThrownBy(() -> KernelOptions.builder().env("A", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("KernelOptions.env: variable 'A' has a null value");
        assertThatThrownBy(() -> KernelOptions.builder().env(withNull))
                .hasMessage("KernelOptions.env: variable 'B' has a null value");
        assertThat(PoolOptions.builder().env("A", "1").env(Map.of("B", "")).build().env()).containsOnly(Map.entry("A", "1"), Map.entry("B", ""));
    }

    @Test
    void poolSizesPastTheCeilingAreRefused() {
        assertThat(PoolOptions.MAX_POOL_SIZE).isEqualTo(1024);
        assertThatThrownBy(() -> PoolOptions.builder().max(1025).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("PoolOptions.max must be at most 1024 (PoolOptions.MAX_POOL_SIZE), got 1025");
        assertThatThrownBy(() -> PoolOptions.builder().size(100_000).build())
                .hasMessage("PoolOptions.max must be at most 1024 (PoolOptions.MAX_POOL_SIZE), got 100000");
        assertThat(PoolOptions.builder().min(0).max(1024).build().max()).isEqualTo(1024);
        assertThatThrownBy(() -> PoolOptions.builder().maxConcurrentStarts(0).build())
                .hasMessage("PoolOptions.maxConcurrentStarts must be >= 1, got 0");
    }

    @Test
    void theStartWaitCountsRoundsOfConcurrentStarts() {
        PoolOptions o = PoolOptions.builder().startupTimeout(Duration.ofSeconds(10)).maxStartAttempts(3).maxConcurrentStarts(4).build();
        assertThat(o.maxStartWait(1)).isEqualTo(Duration.ofSeconds(40));   // 1 round + 3 attempts
        assertThat(o.maxStartWait(9)).isEqualTo(Duration.ofSeconds(60));   // 3 rounds + 3 attempts
    }

    // ---- against real pools ----

    /**
     * With maxConcurrentStarts(1) a pool of 3 starts its kernels one after another: every STARTING
     * (a kernel launched) comes after the READY of the one before, and stats never show two starting.
     */
    @Test
    void startsAreBoundedByMaxConcurrentStarts(@TempDir Path dir) throws Exception {
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir)) {
            java.util.concurrent.CompletableFuture<LanguagePool> created = pools.createPoolAsync("python", "python3",
                    PoolOptions.builder().size(3).maxConcurrentStarts(1).maxStartAttempts(5).build());
            LanguagePool py = pools.pool("python");
            int[] mostStarting = {0};
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> {
                mostStarting[0] = Math.max(mostStarting[0], py.stats().starting());
                return created.isDone();
            });
            assertThat(created.get().stats().size()).isEqualTo(3);
            assertThat(mostStarting[0]).isEqualTo(1);
            await().atMost(T).until(() -> testing.count(PoolEvent.Type.READY) == 3);
            int inFlight = 0;
            for (PoolEvent e : testing.events) {
                if (e.type() == PoolEvent.Type.STARTING) {
                    inFlight++;
                    assertThat(inFlight).as("kernels starting at once, at %s", e).isEqualTo(1);
                } else if (e.type() == PoolEvent.Type.READY) {
                    inFlight--;
                }
            }
            assertThat(testing.count(PoolEvent.Type.STARTING)).isEqualTo(3);
            // Restarts take their turn too: two kernels killed at once come back one at a time.
            testing.events.clear();
            long restarts = py.stats().restarts();
            for (PoolStats.Instance i : py.stats().instances().subList(0, 2)) {
                ProcessHandle.of(i.pid()).ifPresent(ProcessHandle::destroyForcibly);
            }
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> {
                PoolStats s = py.stats();
                assertThat(s.starting()).isLessThanOrEqualTo(1);
                return s.restarts() == restarts + 2 && s.idle() == 3;
            });
        }
        testing.assertNoKernelLeft();
    }

    // ---- against a shared pool ----

    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class OnAPool {
        @TempDir
        Path dir;
        final PoolTesting testing = new PoolTesting();
        KernelPools pools;
        LanguagePool py;

        @BeforeAll
        void start() {
            pools = testing.pools(dir);
            py = pools.createPool("python", "python3", PoolOptions.builder().size(1).build());
        }

        @AfterAll
        void stop() {
            pools.close();
            testing.assertNoKernelLeft();
        }

        @Test
        void aJobWithAnEndlessTimeoutRuns() throws Exception {
            ExecutionResult r = py.submit("6 * 7", ExecuteOptions.builder().timeout(HUGE).build()).get(60, TimeUnit.SECONDS);
            assertThat(r.text()).isEqualTo("42");
            assertThat(py.execute("6 * 7", ExecuteOptions.builder().timeout(FOREVER).build()).text()).isEqualTo("42");
        }

        @Test
        void aRefusedSubmitRunsNothing() throws Exception {
            long submitted = py.stats().submitted();
            Path marker = dir.resolve("ran");
            String writes = "open(r'" + marker + "', 'w').write('x')";
            assertThatThrownBy(() -> py.submit(writes + "  # \uD800", ExecuteOptions.builder().timeout(HUGE).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("code has an unpaired surrogate U+D800 at index " + (writes.length() + 4) + " (line 1, column ");
            assertThatThrownBy(() -> py.execute(writes + "\n'\uDFFF'"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("code has an unpaired surrogate U+DFFF at index " + (writes.length() + 2)
                            + " (line 2, column 2); it cannot be sent as UTF-8");
            assertThatThrownBy(() -> py.submit(writes, ExecuteOptions.builder().instance(5).timeout(FOREVER).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("instance 5 is out of range");
            assertThatThrownBy(() -> py.broadcastAsync(writes + "#\uD800")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("broadcast code has an unpaired surrogate U+D800");
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> !Files.exists(marker));
            PoolStats s = py.stats();
            assertThat(s.submitted()).isEqualTo(submitted);
            assertThat(s.queued()).isZero();
            // The kernel was never sent the bad code, so it is the same healthy one.
            assertThat(s.restarts() + s.deaths()).isZero();
            assertThat(py.broadcast("1")).hasSize(1);
            assertThat(py.execute("1 + 1").text()).isEqualTo("2");
        }

        @Test
        void leaseTimeoutsMustBePositive() {
            assertThatThrownBy(() -> py.lease(Duration.ofSeconds(-1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("lease: timeout must be a positive duration, got PT-1S");
            assertThatThrownBy(() -> py.lease(Duration.ZERO)).hasMessage("lease: timeout must be a positive duration, got PT0S");
            assertThatThrownBy(() -> py.leaseAsync(null)).hasMessage("lease: timeout must be a positive duration, got null");
            assertThat(py.stats().leased()).isZero();
            try (KernelLease lease = py.lease(FOREVER)) {
                assertThatThrownBy(() -> lease.execute(LONE)).isInstanceOf(IllegalArgumentException.class).hasMessage(LONE_MESSAGE);
                assertThat(lease.execute("3 * 3", ExecuteOptions.builder().timeout(HUGE).build()).text()).isEqualTo("9");
            }
            await().atMost(T).until(() -> py.stats().leased() == 0);
        }

        @Test
        void aRefusedScaleChangesNothing() {
            assertThatThrownBy(() -> py.scale(1025)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("pool 'python': scale(1025) is above the limit of 1024 kernels a pool (PoolOptions.MAX_POOL_SIZE)");
            assertThatThrownBy(() -> py.scaleAsync(0)).isInstanceOf(IllegalArgumentException.class);
            PoolStats s = py.stats();
            assertThat(List.of(s.min(), s.max(), s.size(), s.starting())).containsExactly(1, 1, 1, 0);
        }
    }
}

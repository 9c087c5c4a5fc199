package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.Dispatch;
import dev.carpo.pool.ExecuteOptions;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.InstanceState;
import dev.carpo.pool.ExecutionStatus;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolKernelDiedException;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.PoolStats;
import dev.carpo.pool.PoolTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Pools of carpo's own kernels (found by name, no install) under the pool tests ipykernel passes. */
class BuiltinKernelPoolTest {
    @TempDir
    Path dir;

    /** Per language: code that sets who, reads it, loops forever, and a tiny expression. */
    private record Lang(String set, String get, String forever) {
        static Lang of(String spec) {
            return spec.equals("carpo-lua")
                    ? new Lang("who = '%s'", "who", "while true do end")
                    : new Lang("String who = \"%s\";", "who", "while (true) { }");
        }
    }

    @ParameterizedTest
    @CsvSource({"carpo-lua", "carpo-java"})
    void placementTimeoutInterruptHealingAndScaling(String spec) throws Exception {
        Lang lang = Lang.of(spec);
        List<Long> pids = new ArrayList<>();
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).build()) {
            LanguagePool pool = pools.createPool("k", spec, PoolOptions.builder().size(2).strategy(Dispatch.ROUND_ROBIN)
                    .interruptGrace(Duration.ofSeconds(10)).startupTimeout(Duration.ofSeconds(90)).build());
            pool.stats().instances().forEach(i -> pids.add(i.pid()));

            // Placement: each instance keeps the state a job aimed at it left there.
            for (int i = 0; i < 2; i++) {
                pool.execute(String.format(lang.set(), "k" + i), ExecuteOptions.builder().instance(i).build());
            }
            for (int i = 0; i < 2; i++) {
                ExecutionResult r = pool.execute(lang.get(), ExecuteOptions.builder().instance(i).build());
                assertThat(r.instance()).isEqualTo(i);
                assertThat(r.text()).contains("k" + i);
            }

            // Parallel jobs over both, every value back.
            List<CompletableFuture<ExecutionResult>> jobs = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                jobs.add(pool.submit(i + " * 2"));
            }
            Set<Integer> used = new HashSet<>();
            for (int i = 0; i < 12; i++) {
                ExecutionResult r = jobs.get(i).get(60, TimeUnit.SECONDS);
                assertThat(r.text()).isEqualTo(Integer.toString(i * 2));
                used.add(r.instance());
            }
            assertThat(used).containsExactlyInAnyOrder(0, 1);

            // A timeout interrupts the loop (interrupt_request on control); the same kernel takes the next job.
            CompletableFuture<ExecutionResult> stuck = pool.submit(lang.forever(),
                    ExecuteOptions.builder().instance(0).timeout(Duration.ofSeconds(1)).build());
            CompletableFuture<ExecutionResult> after = pool.submit(lang.get(), ExecuteOptions.builder().instance(0).build());
            assertThatThrownBy(() -> stuck.get(30, TimeUnit.SECONDS)).cause().isInstanceOf(PoolTimeoutException.class);
            assertThat(after.get(30, TimeUnit.SECONDS).text()).contains("k0");
            assertThat(pool.stats().restarts()).isZero();

            // SIGKILL of a busy kernel's JVM: only its job fails; the replacement takes the queued one.
            CompletableFuture<ExecutionResult> doomed = pool.submit(lang.forever(), ExecuteOptions.builder().instance(1).build());
            CompletableFuture<ExecutionResult> queued = pool.submit("6 * 7", ExecuteOptions.builder().instance(1).build());
            await().atMost(Duration.ofSeconds(30)).until(() -> pool.stats().instances().get(1).state() == InstanceState.BUSY);
            ProcessHandle.of(pool.stats().instances().get(1).pid()).orElseThrow().destroyForcibly();
            assertThatThrownBy(() -> doomed.get(60, TimeUnit.SECONDS)).cause().isInstanceOf(PoolKernelDiedException.class);
            assertThat(queued.get(120, TimeUnit.SECONDS).text()).isEqualTo("42");
            assertThat(pool.stats().restarts()).isEqualTo(1);
            pids.add(pool.stats().instances().get(1).pid());

            // Scaling up and down.
            pool.scale(3);
            assertThat(pool.stats().size()).isEqualTo(3);
            PoolStats.Instance third = pool.stats().instances().get(2);
            pids.add(third.pid());
            assertThat(pool.execute("1 + 1", ExecuteOptions.builder().instance(2).build()).status()).isEqualTo(ExecutionStatus.OK);
            pool.scale(1);
            await().atMost(Duration.ofSeconds(60)).until(() -> pool.stats().size() == 1);
        }
        for (long pid : pids) {
            await().atMost(Duration.ofSeconds(20)).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        }
        // JShell's agent JVM (carpo-java) goes with its kernel too.
        await().atMost(Duration.ofSeconds(20)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(h -> h.info().commandLine().orElse("").contains("jdk.jshell.execution.RemoteExecutionControl")));
    }
}

package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** freshLeases on real ipykernels: no tenant sees what another left, in memory or on disk. */
class FreshLeasesTest {
    @TempDir
    Path dir;

    @Test
    void aLeaseNeverSeesWhatTheLastOneLeftVariablesOrFiles() throws Exception {
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).freshLeases(true)
                    .init("import os").build());
            py.broadcast("shared = 'from the pool'");
            String firstKernel;
            long firstPid;
            Path file;
            try (KernelLease a = py.lease()) {
                firstKernel = a.kernelId();
                firstPid = py.stats().instances().get(a.instance()).pid();
                assertThat(a.execute("x = 1; x").text()).isEqualTo("1");
                assertThat(a.execute("shared").text()).isEqualTo("'from the pool'");
                String scratch = a.execute("s = os.environ['CARPO_SCRATCH']; open(os.path.join(s, 'a.txt'), 'w').write('A'); s").text();
                file = Path.of(scratch.substring(1, scratch.length() - 1), "a.txt");
                assertThat(file).exists();
                assertThat(a.execute("os.getcwd() == s").text()).isEqualTo("True");
            }
            await().atMost(T).until(() -> !Files.exists(file) && !Files.exists(file.getParent()));
            try (KernelLease b = py.lease()) {
                assertThat(b.kernelId()).isNotEqualTo(firstKernel);
                assertThat(py.stats().instances().get(b.instance()).pid()).isNotEqualTo(firstPid);
                assertThat(b.execute("x").error().ename()).isEqualTo("NameError");
                assertThat(b.execute("shared").text()).as("broadcasts are part of a fresh kernel").isEqualTo("'from the pool'");
                assertThat(b.execute("os.listdir(os.environ['CARPO_SCRATCH'])").text()).isEqualTo("[]");
            }
            // The used kernels are gone, and the pool is back to two unused ones.
            await().atMost(T).until(() -> py.stats().idle() == 2 && py.stats().reason(PoolEvent.Reason.LEASE_END) == 2);
            assertThat(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            assertThat(testing.events).filteredOn(e -> e.reason() == PoolEvent.Reason.LEASE_END).hasSize(2)
                    .allSatisfy(e -> assertThat(e.type()).isEqualTo(PoolEvent.Type.RETIRED));
            assertThat(py.stats().deaths()).isZero();
        }
        testing.assertNoKernelLeft();
    }

    @Test
    void ordinaryJobsAreOneJobLeasesEachOnAFreshKernel() throws Exception {
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).freshLeases(true).build());
            ExecutionResult first = py.execute("y = 1; y");
            assertThat(first.text()).isEqualTo("1");
            ExecutionResult second = py.execute("y");
            assertThat(second.error().ename()).isEqualTo("NameError");
            ExecutionResult third = py.execute("y");
            assertThat(third.error().ename()).isEqualTo("NameError");
            assertThat(List.of(first.kernelId(), second.kernelId(), third.kernelId())).doesNotHaveDuplicates();
            await().atMost(T).until(() -> py.stats().reason(PoolEvent.Reason.LEASE_END) == 3 && py.stats().idle() == 2);
        }
        testing.assertNoKernelLeft();
    }

    @Test
    void withTwoWarmSparesALeaseIsGrantedAtOnce() throws Exception {
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).build()) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(3).freshLeases(true).build());
            List<Long> micros = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                await().atMost(T).until(() -> py.stats().idle() >= 2);
                long t0 = System.nanoTime();
                KernelLease lease = py.lease(Duration.ofSeconds(30));
                micros.add((System.nanoTime() - t0) / 1000);
                lease.execute("1");
                lease.close();
            }
            List<Long> sorted = micros.stream().sorted().toList();
            // Printed, not asserted: timing belongs to pool-bench (FreshLeases), this shows the order of magnitude.
            System.out.printf("fresh lease acquisition with warm spares: median %.2f ms, max %.2f ms over %d leases%n",
                    sorted.get(sorted.size() / 2) / 1000.0, sorted.get(sorted.size() - 1) / 1000.0, sorted.size());
            assertThat(py.stats().reason(PoolEvent.Reason.LEASE_END)).isEqualTo(9);
        }
    }
}

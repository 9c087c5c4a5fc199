package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.kernel.Bytes;
import dev.carpo.pool.kernel.Containment;
import dev.carpo.pool.kernel.Prerequisites;
import dev.carpo.pool.kernel.TestKernels;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Memory limits (cgroup and /proc watchdog), process caps, and descendants that end with their
 * kernel, on real ipykernels. Limits are small (200 MiB, a 64-process cap) so the suite stays cheap.
 */
class KernelLimitsTest {
    /** Forks until refused, prints how many it got: bounded (at most 200 children, each gone within 3 s, all killed once fork fails). */
    static final String BOUNDED_FORK_BOMB = String.join("\n",
            "import os, signal, time",
            "children = []",
            "try:",
            "    for i in range(200):",
            "        pid = os.fork()",
            "        if pid == 0:",
            "            time.sleep(3)",
            "            os._exit(0)",
            "        children.append(pid)",
            "finally:",
            "    for c in children:",
            "        os.kill(c, signal.SIGKILL)",
            "        os.waitpid(c, 0)",
            "    print('forked', len(children))");

    private static final Logger LOG = LoggerFactory.getLogger(KernelLimitsTest.class);
    private static final long LIMIT = 200L << 20;
    private static final Duration EXIT = Duration.ofSeconds(15);
    private static final Random RANDOM = new Random();

    @TempDir
    Path dir;
    final PoolTesting testing = new PoolTesting();
    KernelPools pools;

    @AfterEach
    void close() {
        Containment.useCgroups(null);
        Containment.usePidNamespace(null);
        if (pools != null) {
            pools.close();
        }
        testing.assertNoKernelLeft();
    }

    // ---- memory limit ----

    /** One allocation of 3 × LIMIT that must be stopped, and how far past the limit the sampled RSS may get. */
    private record Allocation(String name, String code, long slack) {
    }

    private static final String FAST = "b = b'x' * " + 3 * LIMIT + "\nlen(b)";
    private static final String SLOW = "chunks = []\nfor i in range(" + 3 * LIMIT / (10 << 20) + "):\n"
            + "    chunks.append(b'x' * (10 << 20))\n    time.sleep(0.02)\nlen(chunks)";
    /** MAP_SHARED|MAP_ANONYMOUS (Python's default for mmap(-1, n)), filled 10 MiB at a time: RssShmem, not RssAnon. */
    private static final String SHARED = "import mmap\nm = mmap.mmap(-1, " + 3 * LIMIT + ")\nfor i in range(" + 3 * LIMIT / (10 << 20)
            + "):\n    m.write(b'x' * (10 << 20))\nlen(m)";

    @Test
    void memoryLimitHeldByTheCgroup() throws Exception {
        Prerequisites.requireMachine(Containment.memoryCgroup(), "a writable memory cgroup", "run as root on cgroup v1 or v2");
        Containment.useCgroups(true);
        memoryLimitStopsTheKernel("cgroup", List.of(new Allocation("fast", FAST, LIMIT / 4), new Allocation("slow", SLOW, LIMIT / 4)));
    }

    @Test
    void memoryLimitHeldByTheWatchdog() throws Exception {
        Containment.useCgroups(false);
        // Slow (10 MiB every 20 ms): the watchdog looks every 5 ms near the limit, so the sampled RSS stays within
        // limit + 50 % even with a stall of the watchdog thread. Fast (600 MB touched in ~150 ms): between two looks,
        // or in a 50-100 ms scheduling stall on a loaded machine, hundreds of MB can pass; what must hold is that the
        // job fails with the limit and the 3 × LIMIT allocation does not complete (peak < 2 × LIMIT).
        memoryLimitStopsTheKernel("watchdog", List.of(new Allocation("fast", FAST, LIMIT), new Allocation("slow", SLOW, LIMIT / 2)));
    }

    @Test
    void sharedAnonymousMemoryCountedByTheWatchdog() throws Exception {
        Containment.useCgroups(false);
        memoryLimitStopsTheKernel("watchdog", List.of(new Allocation("shared mmap", SHARED, LIMIT)));
    }

    private void memoryLimitStopsTheKernel(String path, List<Allocation> allocations) throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        pools = KernelPools.builder().runtimeDir(dir).meterRegistry(registry).build();
        pools.addListener(testing);
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).memoryLimit(LIMIT)
                .init("import time").build());
        int count = 0;
        for (Allocation allocation : allocations) {
            String code = allocation.code();
            long pid = py.stats().instances().get(0).pid();
            CompletableFuture<ExecutionResult> bystander = py.submit("time.sleep(2); 42", ExecuteOptions.builder().instance(1).build());
            RssSampler sampler = new RssSampler(pid);
            long started = System.nanoTime();
            CompletableFuture<ExecutionResult> job = py.submit(code, ExecuteOptions.builder().instance(0).build());
            assertThatThrownBy(() -> job.get(60, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(PoolMemoryLimitException.class)
                    .hasMessageContaining("pool 'python'").hasMessageContaining("instance 0")
                    .hasMessageContaining("memory limit of " + Bytes.describe(LIMIT)).hasMessageContaining("peak");
            long failed = System.nanoTime();
            long tookMs = (failed - started) / 1_000_000;
            long afterCrossingMs = sampler.crossed.get() == 0 ? -1 : (failed - sampler.crossed.get()) / 1_000_000;
            long peak = sampler.stop();
            PoolMemoryLimitException e = (PoolMemoryLimitException) job.handle((r, x) -> x instanceof java.util.concurrent.CompletionException ? x.getCause() : x).join();
            LOG.info("{} path, {} allocation: failed after {} ms ({} ms after RSS was first sampled over the limit);"
                    + " sampled peak RSS {} vs limit {}; reported peak {}; {}",
                    path, allocation.name(), tookMs, afterCrossingMs, Bytes.describe(peak), Bytes.describe(LIMIT),
                    Bytes.describe(e.peakBytes()), e.getMessage().lines().findFirst().orElse(""));
            assertThat(e.limitBytes()).isEqualTo(LIMIT);
            assertThat(e.reason()).isEqualTo("memory_limit");
            assertThat(peak).as("%s path, %s allocation: RSS of the kernel's tree, sampled every 10 ms, was %s (limit %s, bound %s);"
                    + " failed after %d ms, %d ms after the RSS was first sampled over the limit; reported peak %s",
                    path, allocation.name(), Bytes.describe(peak), Bytes.describe(LIMIT), Bytes.describe(LIMIT + allocation.slack()),
                    tookMs, afterCrossingMs, Bytes.describe(e.peakBytes())).isLessThanOrEqualTo(LIMIT + allocation.slack());
            assertThat(bystander.get(30, TimeUnit.SECONDS).text()).isEqualTo("42");
            count++;
            assertThat(py.stats().memoryLimited()).isEqualTo(count);
            // Healed: instance 0 runs on a new kernel.
            ExecutionResult after = py.execute("1 + 1", ExecuteOptions.builder().instance(0).build());
            assertThat(after.text()).isEqualTo("2");
            assertThat(py.stats().instances().get(0).pid()).isNotEqualTo(pid);
            testing.pids.add(pid);
        }
        assertThat(py.stats().kernelDied()).as("memory-limit deaths are not counted as plain deaths too").isZero();
        assertThat(registry.get("carpo.executions").tag("outcome", "memory_limit").functionCounter().count()).isEqualTo(allocations.size());
        assertThat(registry.get("carpo.executions").tag("outcome", "kernel_died").functionCounter().count()).isZero();
    }

    /**
     * RSS (all resident pages: statm's resident is RssAnon + RssFile + RssShmem, so shared anonymous memory
     * counts) of a process and its descendants every 10 ms, on a thread of its own.
     */
    private static final class RssSampler {
        private final AtomicLong max = new AtomicLong();
        private final AtomicLong crossed = new AtomicLong(); // nanoTime of the first sample over LIMIT
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        RssSampler(long pid) {
            thread = new Thread(() -> {
                while (running.get()) {
                    long total = rss(pid);
                    ProcessHandle h = ProcessHandle.of(pid).orElse(null);
                    if (h != null) {
                        total += h.descendants().mapToLong(d -> rss(d.pid())).sum();
                    }
                    max.accumulateAndGet(total, Math::max);
                    if (total > LIMIT) {
                        crossed.compareAndSet(0, System.nanoTime());
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                }
            }, "rss-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        long stop() throws InterruptedException {
            running.set(false);
            thread.join(5000);
            return max.get();
        }

        private static long rss(long pid) {
            try {
                return Long.parseLong(Files.readString(Path.of("/proc", Long.toString(pid), "statm")).split(" ")[1]) * 4096;
            } catch (IOException | RuntimeException e) {
                return 0;
            }
        }
    }

    // ---- descendants ----

    /** Starts a sleep child, a child ignoring SIGTERM and a double-forked setsid daemon; returns their pids (host view). */
    private static List<Long> startDescendants(LanguagePool py, int instance) {
        String tag = "7" + (100_000 + RANDOM.nextInt(800_000)); // a sleep length no other process has
        String code = String.join("\n",
                "import subprocess",
                "subprocess.Popen(['/usr/bin/sleep', '" + tag + ".1'])",
                "subprocess.Popen(['/usr/bin/python3', '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                        + "time.sleep(" + tag + ".2)'])",
                "subprocess.run(['/usr/bin/python3', '-c', 'import os, subprocess\\nif os.fork() == 0:\\n    os.setsid()\\n"
                        + "    subprocess.Popen([\"/usr/bin/sleep\", \"" + tag + ".3\"])\\n    os._exit(0)\\nos.wait()'], timeout=30)",
                "'started'");
        assertThat(py.execute(code, ExecuteOptions.builder().instance(instance).build()).text()).isEqualTo("'started'");
        List<String> markers = List.of(tag + ".1", tag + ".2", tag + ".3");
        await().atMost(Duration.ofSeconds(10)).until(() -> markers.stream().allMatch(m -> pidsWith(m).size() == 1));
        return markers.stream().map(m -> pidsWith(m).get(0)).toList();
    }

    private static List<Long> pidsWith(String marker) {
        return TestKernels.pidsWith(marker);
    }

    private static void awaitGone(List<Long> pids) {
        await().atMost(EXIT).untilAsserted(() -> assertThat(pids)
                .as("descendants still running").noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
    }

    /** With both nets, and with each alone: either one ends a double-forked daemon. */
    @ParameterizedTest
    @ValueSource(strings = {"namespace and cgroup", "namespace", "cgroup"})
    void descendantsEndWithThePoolAtClose(String nets) {
        Prerequisites.requireBwrap(!nets.contains("namespace") || Containment.pidNamespace());
        Prerequisites.requireMachine(!nets.contains("cgroup") || Containment.pidsCgroup(), "a writable pids cgroup", "run as root on cgroup v1 or v2");
        Containment.usePidNamespace(nets.contains("namespace") ? null : false);
        Containment.useCgroups(nets.contains("cgroup") ? null : false);
        pools = testing.pools(dir);
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).build());
        List<Long> pids = startDescendants(py, 0);
        pools.close();
        awaitGone(pids);
    }

    @Test
    void descendantsEndWithAKilledKernelAndScaledDownInstance() {
        pools = testing.pools(dir);
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).build());
        List<Long> killed = startDescendants(py, 0);
        long pid = py.stats().instances().get(0).pid();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        awaitGone(killed);
        assertThat(py.execute("1 + 1", ExecuteOptions.builder().instance(0).build()).text()).isEqualTo("2");
        assertThat(py.stats().instances().get(0).pid()).isNotEqualTo(pid);

        List<Long> retired = startDescendants(py, 1);
        py.scale(1);
        awaitGone(retired);
    }

    // ---- process cap ----

    @Test
    void maxProcessesStopsAForkBombAndTheKernelSurvives() {
        Prerequisites.requireMachine(Containment.pidsCgroup(), "a writable pids cgroup", "run as root on cgroup v1 or v2");
        pools = testing.pools(dir);
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).maxProcesses(64).build());
        long pid = py.stats().instances().get(0).pid();
        long threads = ProcessHandle.of(pid).map(KernelLimitsTest::threads).orElse(-1L);
        LOG.info("an idle ipykernel has {} threads; maxProcesses 64", threads);
        ExecutionResult r = py.execute(BOUNDED_FORK_BOMB);
        assertThat(r.status()).isEqualTo(ExecutionStatus.ERROR);
        assertThat(r.error().ename()).isIn("BlockingIOError", "OSError");
        assertThat(r.stdout()).startsWith("forked ");
        LOG.info("fork bomb under maxProcesses 64: {}, {}", r.stdout().trim(), r.error().ename());
        assertThat(Integer.parseInt(r.stdout().trim().substring(7))).isLessThan(64);
        assertThat(py.execute("1 + 1").text()).isEqualTo("2");
        assertThat(py.stats().instances().get(0).pid()).isEqualTo(pid);
    }

    private static long threads(ProcessHandle p) {
        try (var s = Files.list(Path.of("/proc", Long.toString(p.pid()), "task"))) {
            return s.count();
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void limitsThatCannotHoldAreRefusedAtCreatePool() {
        pools = testing.pools(dir);
        Containment.useCgroups(false);
        assertThatThrownBy(() -> pools.createPool("python", "python3", PoolOptions.builder().size(1).maxProcesses(50).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxProcesses needs a writable pids cgroup");
        assertThatThrownBy(() -> pools.createPool("remote", "python3", PoolOptions.builder().size(1)
                .gateway(URI.create("http://127.0.0.1:1"), "t").memoryLimit(LIMIT).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("memoryLimit is for local kernels only");
        assertThatThrownBy(() -> pools.createPool("remote", "python3", PoolOptions.builder().size(1)
                .gateway(URI.create("http://127.0.0.1:1"), "t").maxProcesses(50).build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxProcesses is for local kernels only");
        assertThat(pools.pools()).isEmpty();
    }
}

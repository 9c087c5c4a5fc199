package dev.carpo.pool.bench;

import dev.carpo.pool.Dispatch;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.PoolStats;
import dev.carpo.pool.kernel.Gateway;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelOptions;
import dev.carpo.pool.kernel.KernelRuntime;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * carpo's side of {@code compare/run.sh}: the workloads of {@code anchors.py}, one JSON line each.
 *
 * <pre>
 * java -cp pool-bench/target/benchmarks.jar dev.carpo.pool.bench.Ours rt --spec python3 --jobs 300
 * java -cp pool-bench/target/benchmarks.jar dev.carpo.pool.bench.Ours remote-rt --spec python3 --gateway http://127.0.0.1:8888 --token T
 * java -cp pool-bench/target/benchmarks.jar dev.carpo.pool.bench.Ours throughput --spec xpython --n 4 --work sleep
 * java -cp pool-bench/target/benchmarks.jar dev.carpo.pool.bench.Ours start --spec python3 --n 8
 * java -cp pool-bench/target/benchmarks.jar dev.carpo.pool.bench.Ours footprint --n 32
 * </pre>
 */
public final class Ours {
    private static final Duration T = Duration.ofSeconds(60);

    private Ours() {
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> a = options(argv);
        String spec = a.getOrDefault("spec", "python3");
        int n = Integer.parseInt(a.getOrDefault("n", "1"));
        int jobs = Integer.parseInt(a.getOrDefault("jobs", "300"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "30"));
        switch (argv[0]) {
            case "rt" -> roundTrip(spec, jobs, warmup);
            case "remote-rt" -> remoteRoundTrip(spec, jobs, warmup, Gateway.of(URI.create(a.get("gateway")), a.get("token")));
            case "throughput" -> throughput(spec, n, jobs, warmup, a.getOrDefault("work", "tiny"));
            case "start" -> start(spec, n);
            case "footprint" -> footprint(spec, n);
            default -> throw new IllegalArgumentException("unknown workload " + argv[0] + "; rt, throughput, start, footprint");
        }
        System.exit(0);
    }

    /**
     * Sequential execute("1"): the raw single-threaded JeroMQ client (the Java floor), carpo's bare
     * kernel client and a pool of one, each on its own warm kernel, taken in turns of
     * {@link #BLOCK} calls so that the machine's drift falls on all three alike.
     */
    static void roundTrip(String spec, int jobs, int warmup) throws Exception {
        try (RawJeromq raw = RawJeromq.start(BenchKernels.spec(spec));
             KernelRuntime runtime = KernelRuntime.create();
             KernelPools pools = BenchKernels.pools(null)) {
            Kernel kernel = runtime.start(BenchKernels.spec(spec), KernelOptions.defaults()).get(120, TimeUnit.SECONDS);
            LanguagePool pool = pools.createPool("bench", spec, PoolOptions.builder().size(1).build());
            Map<String, Runnable> clients = new LinkedHashMap<>();
            clients.put("raw-jeromq", raw::executeUnchecked);
            clients.put("carpo (kernel)", () -> kernel.execute("1", T));
            clients.put("carpo (pool of 1)", () -> pool.execute("1"));
            Map<String, double[]> ms = interleaved(clients, jobs, warmup);
            ms.forEach((impl, r) -> emit(impl, "round trip p50", spec, 1, r[0], "ms", Map.of("p99", r[1], "mean", r[2])));
        }
    }

    /** Calls per client per turn in {@link #interleaved}. */
    private static final int BLOCK = 100;

    /** Each client's p50, p99 and mean over {@code jobs} calls, after {@code warmup} each, in turns of {@link #BLOCK}. */
    static Map<String, double[]> interleaved(Map<String, Runnable> clients, int jobs, int warmup) {
        clients.values().forEach(op -> {
            for (int i = 0; i < warmup; i++) {
                op.run();
            }
        });
        Map<String, double[]> samples = new LinkedHashMap<>();
        clients.keySet().forEach(k -> samples.put(k, new double[jobs]));
        for (int done = 0; done < jobs; done += BLOCK) {
            int end = Math.min(jobs, done + BLOCK);
            for (Map.Entry<String, Runnable> c : clients.entrySet()) {
                double[] ms = samples.get(c.getKey());
                for (int i = done; i < end; i++) {
                    long t = System.nanoTime();
                    c.getValue().run();
                    ms[i] = (System.nanoTime() - t) / 1e6;
                }
            }
        }
        Map<String, double[]> result = new LinkedHashMap<>();
        samples.forEach((k, ms) -> result.put(k, stats(ms)));
        return result;
    }

    /** As {@link #roundTrip}, with the kernel on a Jupyter Server (REST + one WebSocket) instead of a local process. */
    static void remoteRoundTrip(String spec, int jobs, int warmup, Gateway gateway) throws Exception {
        try (KernelRuntime runtime = KernelRuntime.create()) {
            Kernel kernel = runtime.start(runtime.gateway(gateway).kernelSpec(spec), KernelOptions.builder().gateway(gateway).build())
                    .get(120, TimeUnit.SECONDS);
            double[] ms = sample(jobs, warmup, () -> kernel.execute("1", T));
            emit("carpo (gateway kernel)", "round trip p50", spec, 1, ms[0], "ms", Map.of("p99", ms[1], "mean", ms[2]));
        }
        try (KernelPools pools = BenchKernels.pools(null)) {
            LanguagePool pool = pools.createPool("bench", spec, PoolOptions.builder().size(1).gateway(gateway).build());
            double[] ms = sample(jobs, warmup, () -> pool.execute("1"));
            emit("carpo (gateway pool of 1)", "round trip p50", spec, 1, ms[0], "ms", Map.of("p99", ms[1], "mean", ms[2]));
        }
    }

    /** {@code jobs} jobs submitted at once to a pool of {@code n} (after {@code warmup} to warm the JIT); also the kernels' own CPU per job. */
    static void throughput(String spec, int n, int jobs, int warmup, String work) throws Exception {
        String code = "sleep".equals(work) ? "time.sleep(0.01)" : "1";
        try (KernelPools pools = BenchKernels.pools(null)) {
            PoolOptions.Builder options = PoolOptions.builder().size(n).strategy(Dispatch.LEAST_BUSY).maxQueued(Math.max(1000, jobs * 2));
            if ("sleep".equals(work)) {
                options.init("import time"); // Python kernels only: the built-in ones run the tiny work
            }
            LanguagePool pool = pools.createPool("bench", spec, options.build());
            runAll(pool, code, Math.max(n * 8, warmup));
            double cpuBefore = kernelCpu(pool.stats());
            long jvmCpuBefore = jvmCpuNanos();
            long switchesBefore = contextSwitches();
            long t0 = System.nanoTime();
            runAll(pool, code, jobs);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double switchesPerJob = (contextSwitches() - switchesBefore) / (double) jobs;
            double clientCpuPerJobMs = (jvmCpuNanos() - jvmCpuBefore) / 1e6 / jobs;
            double cpuPerJobMs = (kernelCpu(pool.stats()) - cpuBefore) * 1000 / jobs;
            int cores = Runtime.getRuntime().availableProcessors();
            emit("carpo", work + " jobs/s", spec, n, jobs / seconds, "jobs/s",
                    Map.of("kernel_cpu_ms_per_job", cpuPerJobMs, "cpu_limit_jobs_per_s", cores * 1000 / cpuPerJobMs,
                            "client_cpu_ms_per_job", clientCpuPerJobMs, "client_context_switches_per_job", switchesPerJob));
        }
    }

    /** A pool of {@code n} to ready; and {@code n} kernels started at once, to count port collisions. */
    static void start(String spec, int n) throws Exception {
        try (KernelPools pools = BenchKernels.pools(null)) {
            long t0 = System.nanoTime();
            pools.createPool("bench", spec, PoolOptions.builder().size(n).build());
            double ms = (System.nanoTime() - t0) / 1e6;
            try (KernelRuntime runtime = KernelRuntime.create()) {
                List<CompletableFuture<Kernel>> starts = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    starts.add(runtime.start(BenchKernels.spec(spec), KernelOptions.defaults()));
                }
                List<Integer> ports = new ArrayList<>();
                for (CompletableFuture<Kernel> s : starts) {
                    ports.addAll(s.get(120, TimeUnit.SECONDS).connectionInfo().ports().values());
                }
                emit("carpo", n + " kernels to ready", spec, n, ms, "ms", Map.of("port_collisions", (double) (ports.size() - new HashSet<>(ports).size())));
            }
        }
    }

    /** {@code n} kernels in four pools: JVM threads, and heap per kernel (after GC, over the empty JVM's). */
    static void footprint(String spec, int n) throws Exception {
        long heapBefore = usedHeapAfterGc();
        int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
        try (KernelPools pools = BenchKernels.pools(null)) {
            int perPool = Math.max(1, n / 4);
            List<CompletableFuture<LanguagePool>> created = new ArrayList<>();
            for (int p = 0; p < n / perPool; p++) {
                created.add(pools.createPoolAsync("pool" + p, spec, PoolOptions.builder().size(perPool).build()));
            }
            for (CompletableFuture<LanguagePool> c : created) {
                LanguagePool pool = c.get(300, TimeUnit.SECONDS);
                runAll(pool, "1", perPool * 4);
            }
            int peak = ManagementFactory.getThreadMXBean().getThreadCount();
            // Steady state: the threads that ran the start burst retire 5 s after it.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && Thread.getAllStackTraces().keySet().stream()
                    .anyMatch(t -> t.getName().startsWith("carpo-start-") || t.getName().startsWith("carpo-complete-"))) {
                TimeUnit.MILLISECONDS.sleep(200); // a measurement's settling wait, not synchronization
            }
            int threads = ManagementFactory.getThreadMXBean().getThreadCount();
            Set<String> names = new HashSet<>();
            Thread.getAllStackTraces().keySet().forEach(t -> names.add(t.getName().replaceAll("[0-9]+", "N")));
            double heapPerKernelKiB = (usedHeapAfterGc() - heapBefore) / 1024.0 / n;
            emit("carpo", "footprint", spec, n, threads, "threads", Map.of("threads_before", (double) threadsBefore,
                    "threads_during_start", (double) peak,
                    "heap_per_kernel_kib", heapPerKernelKiB, "process_reaper_threads",
                    (double) Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("process reaper")).count()));
            System.err.println("thread kinds: " + names);
        }
    }

    private static void runAll(LanguagePool pool, String code, int jobs) throws Exception {
        List<CompletableFuture<ExecutionResult>> futures = new ArrayList<>(jobs);
        for (int i = 0; i < jobs; i++) {
            futures.add(pool.submit(code));
        }
        for (CompletableFuture<ExecutionResult> f : futures) {
            f.get(300, TimeUnit.SECONDS);
        }
    }

    /** CPU time of this whole JVM (every thread), for the client's own cost per job. */
    private static long jvmCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Context switches of this JVM's threads so far (threads that ended are not counted: the pools' threads outlive a run). */
    private static long contextSwitches() {
        long sum = 0;
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
            for (java.nio.file.Path t : tasks.toList()) {
                try {
                    for (String line : java.nio.file.Files.readAllLines(t.resolve("status"))) {
                        if (line.endsWith("ctxt_switches:") || line.contains("ctxt_switches:")) {
                            sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                } catch (java.io.IOException | RuntimeException gone) {
                    // The thread ended while being read.
                }
            }
        } catch (java.io.IOException e) {
            return 0;
        }
        return sum;
    }

    private static double kernelCpu(PoolStats stats) {
        return stats.instances().stream().mapToDouble(PoolStats.Instance::cpuSeconds).sum();
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    /** p50, p99, mean in milliseconds. */
    private static double[] sample(int runs, int warmup, Runnable op) {
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            op.run();
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        return stats(ms);
    }

    private static double[] stats(double[] ms) {
        double mean = Arrays.stream(ms).average().orElse(0);
        Arrays.sort(ms);
        return new double[] {ms[ms.length / 2], ms[Math.min(ms.length - 1, (int) (ms.length * 0.99))], mean};
    }

    private static void emit(String impl, String workload, String spec, int n, double value, String unit, Map<String, Double> extra) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "{\"impl\": \"%s\", \"workload\": \"%s\", \"spec\": \"%s\", \"n\": %d, \"value\": %.4f, \"unit\": \"%s\"",
                impl, workload, spec, n, value, unit));
        extra.forEach((k, v) -> sb.append(String.format(Locale.ROOT, ", \"%s\": %.4f", k, v)));
        System.out.println(sb.append('}'));
    }

    private static Map<String, String> options(String[] argv) {
        if (argv.length == 0) {
            throw new IllegalArgumentException("usage: Ours rt|remote-rt|throughput|start|footprint [--spec S] [--n N] [--jobs J] [--work tiny|sleep] [--gateway URL --token T]");
        }
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 1; i + 1 < argv.length; i += 2) {
            a.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        return a;
    }
}

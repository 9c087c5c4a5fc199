package dev.carpo.pool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Run in a JVM of 256 MiB by {@link OutputFloodTest}: floods from one kernel while a bystander pool
 * in the same KernelPools takes a small job every 250 ms. Prints one line per outcome; exits 0 only
 * when every small job was right and both pools serve at the end.
 */
public final class FloodMain {
    private FloodMain() {
    }

    public static void main(String[] args) throws Exception {
        Path runtimeDir = Path.of(args[0]);
        AtomicReference<Throwable> uncaught = new AtomicReference<>();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.compareAndSet(null, e));
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
        AtomicInteger small = new AtomicInteger();
        AtomicReference<String> wrong = new AtomicReference<>();
        try (KernelPools pools = KernelPools.builder().runtimeDir(runtimeDir).build()) {
            LanguagePool flood = pools.createPool("flood", "python3", PoolOptions.builder().size(1)
                    .defaultTimeout(Duration.ofSeconds(120)).interruptGrace(Duration.ofSeconds(5)).build());
            LanguagePool bystander = pools.createPool("bystander", "python3", PoolOptions.builder().size(1).build());
            java.util.concurrent.atomic.AtomicLong slowest = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.ConcurrentLinkedQueue<java.util.concurrent.CompletableFuture<ExecutionResult>> sent =
                    new java.util.concurrent.ConcurrentLinkedQueue<>();
            ticker.scheduleAtFixedRate(() -> {
                int n = small.incrementAndGet();
                long t0 = System.nanoTime();
                // Submitted on schedule whatever the others do; each answer is checked and timed as it comes.
                sent.add(bystander.submit(n + " * 2").whenComplete((r, e) -> {
                    slowest.accumulateAndGet(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), Math::max);
                    if (e != null) {
                        wrong.compareAndSet(null, "small job " + n + " failed: " + e);
                    } else if (!String.valueOf(n * 2).equals(r.text())) {
                        wrong.compareAndSet(null, "small job " + n + " gave " + r);
                    }
                }));
            }, 0, 250, TimeUnit.MILLISECONDS);
            report("coalesced", flood, "for _ in range(300): print('x' * 1_000_000)");
            report("flushed", flood, "import sys\nfor _ in range(300):\n    print('x' * 1_000_000)\n    sys.stdout.flush()");
            report("result", flood, "'x' * 200_000_000");
            // One message of 200 frames of 2 MB each: every frame is within the bound, the message is not.
            report("frames", flood, "k = get_ipython().kernel\nk.session.send(k.iopub_socket, 'display_data', "
                    + "{'data': {'text/plain': 'x'}, 'metadata': {}}, parent=k.get_parent(), buffers=[b'x' * 2_000_000] * 200)");
            ticker.shutdown();
            ticker.awaitTermination(10, TimeUnit.SECONDS);
            for (var f : sent) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                } catch (Exception e) {
                    wrong.compareAndSet(null, "a small job never came back: " + e);
                }
            }
            System.out.println("AFTER flood " + flood.execute("1 + 1").text() + " " + flood.stats().state()
                    + " bystander " + bystander.execute("2 + 2").text() + " " + bystander.stats().state());
            System.out.println("SMALL JOBS " + small.get() + " wrong " + wrong.get() + " slowest " + slowest.get() + " ms");
            System.out.println("UNCAUGHT " + uncaught.get());
            long peak = 0;
            for (var pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == java.lang.management.MemoryType.HEAP) {
                    peak += pool.getPeakUsage().getUsed();
                }
            }
            System.out.println("HEAP MAX " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB, peak used (sum of pools' peaks) " + (peak >> 20) + " MiB");
        }
        System.exit(wrong.get() == null && uncaught.get() == null ? 0 : 1);
    }

    private static void report(String name, LanguagePool pool, String code) throws InterruptedException {
        long t0 = System.nanoTime();
        String outcome;
        try {
            ExecutionResult r = pool.submit(code).get(150, TimeUnit.SECONDS);
            outcome = r.status() + " truncated=" + r.truncated() + " dropped=" + r.droppedBytes() + " stdout=" + r.stdout().length()
                    + " text=" + (r.text() == null ? 0 : r.text().length());
        } catch (ExecutionException e) {
            outcome = "FAILED " + (e.getCause() instanceof PoolException p ? p.reason() + " " + p.getMessage() : String.valueOf(e.getCause()));
        } catch (java.util.concurrent.TimeoutException e) {
            outcome = "TIMEOUT";
        }
        System.out.printf("FLOOD %s %s in %d ms%n", name, outcome, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }
}

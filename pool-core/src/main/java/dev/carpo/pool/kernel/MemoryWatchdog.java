package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that watches every local kernel with a memory limit, however many there are: every
 * {@value #PERIOD_MILLIS} ms (every {@value #NEAR_PERIOD_MILLIS} ms for a kernel above half its
 * limit) it sums the anonymous resident memory of each watched kernel's process
 * tree from /proc (the fallback where there is no cgroup), or looks at the kernel's cgroup for an
 * OOM kill (which may have hit a child, not the kernel: the kernel goes too). It also removes
 * kernels' cgroups once they have emptied.
 *
 * <p>The watchdog cannot stop memory from being touched between two looks: a kernel writing memory
 * at several GB/s can pass its limit by a few hundred MB before it is killed. Only a cgroup bounds
 * it exactly. Anonymous memory only: file pages (page cache, mapped libraries) and tmpfs are not counted.
 */
final class MemoryWatchdog {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryWatchdog.class);
    static final long PERIOD_MILLIS = 20;
    /** Memory is touched at up to several GB/s: near its limit a kernel is looked at 4 times as often. */
    static final long NEAR_PERIOD_MILLIS = 5;
    private static final long PAGE_SIZE = pageSize();
    private static final Set<Watch> WATCHED = ConcurrentHashMap.newKeySet();
    private static final ScheduledThreadPoolExecutor TIMER = timer();
    /** Ticks only while there is something to watch: no wake-ups 200 times a second for nothing. Guarded by WATCHED. */
    private static java.util.concurrent.ScheduledFuture<?> ticking;

    private MemoryWatchdog() {
    }

    /** What one kernel is watched for; {@code onOver} gets the peak seen, once, on the watchdog thread. */
    static final class Watch {
        private final long rootPid;
        private final long limit;
        private final KernelCgroup cgroup;
        private final LongConsumer onOver;
        private volatile long peak;
        private long nextCheck; // nanoTime; the watchdog thread's alone

        private Watch(long rootPid, long limit, KernelCgroup cgroup, LongConsumer onOver) {
            this.rootPid = rootPid;
            this.limit = limit;
            this.cgroup = cgroup;
            this.onOver = onOver;
        }

        long peak() {
            return peak;
        }

        void stop() {
            WATCHED.remove(this);
        }
    }

    /**
     * Watches a kernel's tree (from {@code rootPid}) against {@code limit}, or, when {@code cgroup}
     * enforces the limit, watches the cgroup for an OOM kill.
     */
    static Watch watch(long rootPid, long limit, KernelCgroup cgroup, LongConsumer onOver) {
        Watch w = new Watch(rootPid, limit, cgroup, onOver);
        synchronized (WATCHED) {
            WATCHED.add(w);
            if (ticking == null) {
                ticking = TIMER.scheduleWithFixedDelay(MemoryWatchdog::tick, 0, NEAR_PERIOD_MILLIS, TimeUnit.MILLISECONDS);
            }
        }
        return w;
    }

    /** Removes a kernel's cgroup once its last process is gone, killing stragglers; gives up after 10 s. */
    static void removeWhenEmpty(KernelCgroup cgroup) {
        removeLater(cgroup, 0);
    }

    private static void removeLater(KernelCgroup cgroup, int attempt) {
        cgroup.killAll();
        if (cgroup.remove()) {
            return;
        }
        if (attempt >= 100) {
            LOG.warn("kernel {} is still not empty 10 s after its kernel ended; left in place", cgroup.describe());
            return;
        }
        TIMER.schedule(() -> removeLater(cgroup, attempt + 1), 100, TimeUnit.MILLISECONDS);
    }

    private static void tick() {
        if (WATCHED.isEmpty()) {
            synchronized (WATCHED) {
                if (WATCHED.isEmpty() && ticking != null) {
                    ticking.cancel(false);
                    ticking = null;
                }
            }
            return;
        }
        long now = System.nanoTime();
        for (Watch w : WATCHED) {
            if (now - w.nextCheck < 0) {
                continue;
            }
            try {
                long used = check(w);
                boolean near = w.cgroup == null && used > w.limit / 2;
                w.nextCheck = now + TimeUnit.MILLISECONDS.toNanos(near ? NEAR_PERIOD_MILLIS : PERIOD_MILLIS) - 500_000;
            } catch (RuntimeException e) {
                LOG.warn("memory watchdog: cannot check process {}: {}", w.rootPid, e.toString());
            }
        }
    }

    /** The use seen (-1 for a cgroup that has not OOM-killed). */
    private static long check(Watch w) {
        long used;
        boolean over;
        if (w.cgroup != null) {
            over = w.cgroup.oomKilled();
            used = over ? w.cgroup.peak() : -1;
        } else {
            used = treeAnonRss(w.rootPid);
            over = used > w.limit;
        }
        if (used > w.peak) {
            w.peak = used;
        }
        if (over && WATCHED.remove(w)) {
            w.onOver.accept(w.peak);
        }
        return used;
    }

    /** Anonymous resident bytes of a process and all its descendants (0 for a process that is gone). */
    static long treeAnonRss(long root) {
        long total = 0;
        Deque<Long> todo = new ArrayDeque<>();
        todo.add(root);
        for (int seen = 0; !todo.isEmpty() && seen < 100_000; seen++) {
            long pid = todo.poll();
            total += anonRss(pid);
            children(pid, todo);
        }
        return total;
    }

    private static long anonRss(long pid) {
        try {
            String[] f = Files.readString(Path.of("/proc", Long.toString(pid), "statm")).trim().split(" ");
            return (Long.parseLong(f[1]) - Long.parseLong(f[2])) * PAGE_SIZE;
        } catch (IOException | RuntimeException e) {
            return 0; // gone
        }
    }

    /** Children of every thread of {@code pid} (a child belongs to the thread that forked it). */
    private static void children(long pid, Deque<Long> out) {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                try {
                    for (String child : Files.readString(task.resolve("children")).trim().split(" ")) {
                        if (!child.isEmpty()) {
                            out.add(Long.parseLong(child));
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // Thread gone, or a kernel without /proc/*/children: ProcessHandle below.
                    if (e instanceof java.nio.file.NoSuchFileException && Files.exists(task)) {
                        ProcessHandle.of(pid).ifPresent(p -> p.children().forEach(c -> out.add(c.pid())));
                        return;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // Gone.
        }
    }

    /** AT_PAGESZ from the auxiliary vector; 4 KiB where it cannot be read. */
    private static long pageSize() {
        try {
            ByteBuffer auxv = ByteBuffer.wrap(Files.readAllBytes(Path.of("/proc/self/auxv"))).order(ByteOrder.nativeOrder());
            while (auxv.remaining() >= 16) {
                long type = auxv.getLong();
                long value = auxv.getLong();
                if (type == 6) {
                    return value;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // Fall through.
        }
        return 4096;
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread thread = new Thread(r, "carpo-memory-watchdog");
            thread.setDaemon(true);
            return thread;
        });
        t.setRemoveOnCancelPolicy(true);
        return t;
    }
}

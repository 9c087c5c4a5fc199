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
 * limit) it sums the anonymous resident memory (private and shared: RssAnon + RssShmem) of each watched kernel's process
 * tree from /proc (the fallback where there is no cgroup), or looks at the kernel's cgroup for an
 * OOM kill (which may have hit a child, not the kernel: the kernel goes too). It also removes
 * kernels' cgroups once they have emptied.
 *
 * <p>The watchdog cannot stop memory from being touched between two looks: a kernel writing memory
 * at several GB/s can pass its limit by a few hundred MB before it is killed. Only a cgroup bounds
 * it exactly. Anonymous memory only, private or shared (shared anonymous mappings, memfd, /dev/shm: RssShmem): file pages
 * (page cache, mapped libraries) are not counted, nor tmpfs pages that no process of the tree maps.
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
        private final ChildSearch search = new ChildSearch(); // the watchdog thread's alone

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
            used = treeAnonRss(w.rootPid, w.search);
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
        return treeAnonRss(root, null);
    }

    /**
     * RssAnon + RssShmem of a process and all its descendants, one small file (/proc/PID/status) per
     * process, plus the search for children (see {@link ChildSearch}). {@code search} (may be null)
     * keeps, per watched kernel, where the round over a many-threaded process's threads has got to.
     */
    private static long treeAnonRss(long root, ChildSearch search) {
        long total = 0;
        Deque<Long> todo = new ArrayDeque<>();
        todo.add(root);
        for (int seen = 0; !todo.isEmpty() && seen < 100_000; seen++) {
            long pid = todo.poll();
            long[] memThreads = anonRss(pid);
            if (memThreads == null) {
                continue; // gone
            }
            total += memThreads[0];
            if (memThreads[1] <= ChildSearch.ALL_THREADS_UP_TO || search == null) {
                allThreadsChildren(pid, todo);
            } else {
                search.children(pid, todo);
            }
        }
        if (search != null) {
            search.endTick();
        }
        return total;
    }

    /**
     * {RssAnon + RssShmem, thread count} from /proc/PID/status, or null for a process that is gone.
     * Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, memfd, /dev/shm, SysV shm) is RssShmem:
     * statm's {@code resident - shared} leaves it out. A shared page mapped by several processes of a
     * tree is counted once per process: the count errs on the high side, never the low.
     */
    private static long[] anonRss(long pid) {
        String status;
        try {
            status = Files.readString(Path.of("/proc", Long.toString(pid), "status"));
        } catch (IOException | RuntimeException e) {
            return null;
        }
        long kb = 0;
        long threads = 1;
        int found = 0;
        for (int i = 0; i < status.length() && found < 3; ) {
            int eol = status.indexOf('\n', i);
            if (eol < 0) {
                eol = status.length();
            }
            if (status.startsWith("RssAnon:", i) || status.startsWith("RssShmem:", i)) {
                kb += number(status, i, eol);
                found++;
            } else if (status.startsWith("Threads:", i)) {
                threads = number(status, i, eol);
                found++;
            }
            i = eol + 1;
        }
        return new long[] {kb * 1024, threads};
    }

    private static long number(String s, int from, int to) {
        long n = 0;
        for (int i = s.indexOf(':', from) + 1; i < to; i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') {
                n = n * 10 + (c - '0');
            } else if (n > 0) {
                break;
            }
        }
        return n;
    }

    /** Children of every thread of {@code pid} (a child belongs to the thread that forked it). */
    private static void allThreadsChildren(long pid, Deque<Long> out) {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                if (!readChildren(task, out)) {
                    if (Files.exists(task)) {
                        // A kernel without /proc/*/children (CONFIG_PROC_CHILDREN): ProcessHandle, which walks all of /proc.
                        ProcessHandle.of(pid).ifPresent(p -> p.children().forEach(c -> out.add(c.pid())));
                        return;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // Gone.
        }
    }

    /** Adds the pids in TASK/children; false where it cannot be read. */
    private static boolean readChildren(Path task, Deque<Long> out) {
        try {
            String s = Files.readString(task.resolve("children"));
            int i = 0;
            while (i < s.length()) {
                int end = s.indexOf(' ', i);
                if (end < 0) {
                    end = s.length();
                }
                String child = s.substring(i, end).trim();
                if (!child.isEmpty()) {
                    out.add(Long.parseLong(child));
                }
                i = end + 1;
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Finding the children of a process with many threads, at a bounded cost per tick. A child is
     * listed only in TASK/children of the thread that forked it, so every thread's file must be read;
     * for a process with up to {@value #ALL_THREADS_UP_TO} threads that is done every tick. For one with
     * more (a kernel with thousands of threads would otherwise cost thousands of reads every 5 ms on the
     * one shared watchdog thread), each tick reads the main thread's file and the next
     * {@value #THREADS_PER_TICK} threads' in a round over all of them, and keeps counting the children
     * found during the current and the previous round. The trade-off: a child forked by a thread other
     * than the main one of such a process is counted only from when the round reaches that thread,
     * up to (threads / {@value #THREADS_PER_TICK}) ticks later (about 1 s for 1000 threads near the
     * limit); until then its memory is not seen. Memory of the kernel itself is always counted every tick.
     */
    private static final class ChildSearch {
        static final int ALL_THREADS_UP_TO = 64;
        static final int THREADS_PER_TICK = 32;
        private final java.util.Map<Long, Round> rounds = new java.util.HashMap<>();
        private final Set<Long> visited = new java.util.HashSet<>();

        private static final class Round {
            Path[] tasks = new Path[0];
            int next;
            Set<Long> previous = new java.util.HashSet<>();
            Set<Long> current = new java.util.HashSet<>();
        }

        void children(long pid, Deque<Long> out) {
            visited.add(pid);
            Path proc = Path.of("/proc", Long.toString(pid), "task");
            readChildren(proc.resolve(Long.toString(pid)), out);
            Round r = rounds.computeIfAbsent(pid, k -> new Round());
            Deque<Long> found = new ArrayDeque<>();
            for (int n = 0; n < THREADS_PER_TICK; n++) {
                if (r.next >= r.tasks.length) {
                    r.previous = r.current;
                    r.current = new java.util.HashSet<>();
                    r.next = 0;
                    try (var s = Files.list(proc)) {
                        r.tasks = s.toArray(Path[]::new);
                    } catch (IOException | RuntimeException e) {
                        r.tasks = new Path[0];
                        return;
                    }
                    if (r.tasks.length == 0) {
                        return;
                    }
                }
                readChildren(r.tasks[r.next++], found);
            }
            r.current.addAll(found);
            Set<Long> all = new java.util.HashSet<>(r.previous);
            all.addAll(r.current);
            all.removeAll(out); // the main thread's, already added
            // A remembered child that has since exited reads as gone; one whose pid was reused by an unrelated
            // process is counted until the next round forgets it: on the high side.
            out.addAll(all);
        }

        /** Forgets processes not seen this tick. */
        void endTick() {
            rounds.keySet().retainAll(visited);
            visited.clear();
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

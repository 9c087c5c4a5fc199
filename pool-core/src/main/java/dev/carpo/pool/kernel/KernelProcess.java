package dev.carpo.pool.kernel;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One launched kernel process: its pid, its exit, the tail of its stderr, signals, and termination
 * of its whole process tree. Stderr goes to a file rather than a reader thread, so watching many
 * kernels costs no threads of ours.
 */
public final class KernelProcess {
    private static final Logger LOG = LoggerFactory.getLogger(KernelProcess.class);
    private static final int TAIL_BYTES = 16 * 1024;

    private final Process process;
    private final Path stderrFile;
    private final boolean groupLeader;
    private final ProcessHandle init;
    private final ProcessHandle kernel;
    private final KernelCgroup cgroup;
    private final long memoryLimit;
    private final MemoryWatchdog.Watch watch;
    private final CompletableFuture<Integer> exit;
    private volatile String limitedBy;
    private volatile long limitPeak = -1;

    /**
     * @param groupLeader the kernel leads its own process group (started with setsid): signals
     *        then reach the whole group, as jupyter_client's killpg does, and whatever is left of
     *        the group when the kernel exits is ended with it
     * @param namespaced {@code process} is bwrap, whose init's child is the kernel, in a PID namespace
     *        that ends with it (see {@link PidNamespace})
     * @param cgroup the kernel's cgroup, or {@code null}
     */
    KernelProcess(Process process, Path stderrFile, boolean groupLeader, boolean namespaced, KernelCgroup cgroup, long memoryLimit) {
        this.process = process;
        this.stderrFile = stderrFile;
        this.groupLeader = groupLeader;
        this.cgroup = cgroup;
        this.memoryLimit = memoryLimit;
        ProcessHandle[] found = namespaced ? findKernel(process) : null;
        this.init = found != null ? found[0] : null;
        this.kernel = found != null ? found[1] : process.toHandle();
        if (cgroup != null) {
            try {
                enter(cgroup);
            } catch (RuntimeException e) {
                killNow();
                throw e;
            }
        }
        this.watch = memoryLimit <= 0 ? null
                : MemoryWatchdog.watch(process.pid(), memoryLimit, cgroup != null && cgroup.limitsMemory() ? cgroup : null, peak -> {
                    limitPeak = peak;
                    limitedBy = cgroup != null && cgroup.limitsMemory() ? "the OOM killer of its " + cgroup.describe() : "carpo's /proc watchdog";
                    killNow();
                });
        // Best effort, and apart from the exit code: a failed cleanup must never hide the kernel's death.
        this.exit = process.onExit().thenApply(p -> {
            try {
                afterExit();
            } catch (RuntimeException e) {
                LOG.warn("could not end what is left of kernel process {}: {}", kernel.pid(), e.getMessage());
            }
            return p.exitValue();
        });
    }

    /** bwrap's init and, its child, the kernel: there within milliseconds of the start (5 s at most). */
    private static ProcessHandle[] findKernel(Process bwrap) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline && bwrap.isAlive()) {
            ProcessHandle init = bwrap.children().findFirst().orElse(null);
            ProcessHandle kernel = init == null ? null : init.children().findFirst().orElse(null);
            if (kernel != null) {
                return new ProcessHandle[] {init, kernel};
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
        if (bwrap.isAlive()) {
            bwrap.destroyForcibly();
            throw new KernelStartException("bwrap (process " + bwrap.pid() + ") did not start the kernel within 5 s");
        }
        return null; // exited at once: its exit code and stderr say why
    }

    /**
     * Moves the kernel's processes into its cgroup. They are already running, so a child forked
     * while we move its parent is caught on the next pass (once a parent is in, its children are born in).
     */
    private void enter(KernelCgroup cg) {
        for (int pass = 0; pass < 10; pass++) {
            boolean moved = false;
            java.util.List<ProcessHandle> all = new ArrayList<>();
            all.add(process.toHandle());
            process.descendants().forEach(all::add);
            for (ProcessHandle h : all) {
                if (!cg.contains(h.pid())) {
                    cg.add(h.pid());
                    moved = true;
                }
            }
            if (!moved) {
                return;
            }
        }
    }

    private void afterExit() {
        if (watch != null) {
            watch.stop();
        }
        if (limitedBy == null && cgroup != null && cgroup.limitsMemory() && cgroup.oomKilled()) {
            limitPeak = cgroup.peak();
            limitedBy = "the OOM killer of its " + cgroup.describe();
        }
        // Children the kernel's code started (a subprocess, a wrapper's real kernel) must not outlive it.
        // In a PID namespace Linux has already killed them with its init.
        if (groupLeader && init == null) {
            kill("KILL", "-" + kernel.pid());
        }
        if (cgroup != null) {
            MemoryWatchdog.removeWhenEmpty(cgroup);
        }
    }

    /** SIGKILL to a process and every descendant it has now, descendants first. */
    static void killTree(ProcessHandle process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /** SIGKILL to the kernel and all it started, now. */
    private void killNow() {
        if (init != null) {
            init.destroyForcibly(); // the namespace ends with its init
        }
        killTree(kernel);
        if (cgroup != null) {
            cgroup.killAll();
        }
    }

    /** The kernel's own process id (inside bwrap, bwrap's grandchild). */
    public long pid() {
        return kernel.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Why the kernel was stopped for memory, or {@code null} when it was not. */
    KernelMemoryLimitException memoryLimitDeath(String kernelId, String stderrTail) {
        String by = limitedBy;
        return by == null ? null : new KernelMemoryLimitException(kernelId, memoryLimit, limitPeak, by, stderrTail);
    }

    /** How the kernel is contained, for messages: {@code bwrap, cgroup v1 k-…}. */
    String containment() {
        return (init != null ? "PID namespace" : "no PID namespace") + (cgroup != null ? ", " + cgroup.describe() : "")
                + (watch != null && (cgroup == null || !cgroup.limitsMemory()) ? ", /proc watchdog" : "");
    }

    /** Completes with the exit code when the process ends (negative signal numbers are reported as 128+n by the OS). */
    public CompletableFuture<Integer> onExit() {
        return exit;
    }

    /** The last {@code maxLines} lines the kernel wrote to stderr. */
    public String stderrTail(int maxLines) {
        try (RandomAccessFile file = new RandomAccessFile(stderrFile.toFile(), "r")) {
            long length = file.length();
            long start = Math.max(0, length - TAIL_BYTES);
            byte[] bytes = new byte[(int) (length - start)];
            file.seek(start);
            file.readFully(bytes);
            List<String> lines = new ArrayList<>(Arrays.asList(new String(bytes, StandardCharsets.UTF_8).split("\\R")));
            if (start > 0 && !lines.isEmpty()) {
                lines.remove(0); // probably cut in the middle
            }
            lines.removeIf(String::isBlank);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - maxLines), lines.size()));
        } catch (IOException e) {
            return "";
        }
    }

    /** Sends a signal such as {@code INT} or {@code STOP} to the kernel process (to its whole process group when it leads one). */
    public void signal(String name) {
        if (!process.isAlive()) {
            return;
        }
        // The kernel's group, never bwrap's: a signal that ended bwrap would end the kernel.
        kill(name, groupLeader ? "-" + kernel.pid() : Long.toString(kernel.pid()));
    }

    /** {@code kill -s NAME -- TARGET}, never through a shell; a target already gone is not an error. */
    private static void kill(String name, String target) {
        try {
            Process kill = new ProcessBuilder("kill", "-s", name, "--", target)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
                throw new KernelException("kill -s " + name + " -- " + target + " did not finish in 5 s");
            }
        } catch (IOException e) {
            throw new KernelException("cannot signal kernel process " + target + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KernelException("interrupted while signalling kernel process " + target, e);
        }
    }

    /**
     * Ends the process and every descendant: SIGTERM, then SIGKILL to whatever is left after
     * {@code graceMillis}. Returns once the kernel process itself has exited (bounded by the grace
     * period plus a short wait for SIGKILL to land).
     */
    public void terminateTree(long graceMillis) {
        // SIGTERM to the kernel and its descendants only: bwrap's init ignores it, and kills the rest when the kernel is gone.
        List<ProcessHandle> tree = new ArrayList<>();
        kernel.descendants().forEach(tree::add);
        tree.add(kernel);
        tree.forEach(ProcessHandle::destroy);
        try {
            process.onExit().get(graceMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            // Still running: forced below.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        if (process.isAlive()) {
            killNow();
        }
        try {
            process.onExit().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // SIGKILL cannot be refused; a zombie is reaped by the JDK when it is.
        }
    }
}

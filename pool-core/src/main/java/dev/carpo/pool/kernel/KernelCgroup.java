package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One kernel's cgroup(s): the memory limit and process cap enforced by Linux, every process the
 * kernel started found (and killed) when it ends, and whether the OOM killer struck, with the peak.
 * Page cache counts towards usage but is reclaimed before the OOM killer runs, so reading and
 * writing files never gets a kernel killed; only memory it cannot give back does.
 */
final class KernelCgroup {
    private final List<Path> dirs;
    private final Path memory;
    private final boolean v2;
    private final long memoryLimit;

    private KernelCgroup(List<Path> dirs, Path memory, boolean v2, long memoryLimit) {
        this.dirs = dirs;
        this.memory = memory;
        this.v2 = v2;
        this.memoryLimit = memoryLimit;
    }

    /**
     * A new cgroup for a kernel, or {@code null} where there are no cgroups to use.
     *
     * @param extraProcesses processes of ours in the cgroup (bwrap and its init) on top of the kernel's {@code maxProcesses}
     */
    static KernelCgroup create(String kernelId, long memoryLimit, int maxProcesses, int extraProcesses) {
        Cgroups.Roots roots = Cgroups.roots();
        String name = "k-" + kernelId;
        List<Path> dirs = new ArrayList<>();
        try {
            if (roots.v2() != null) {
                Path dir = Files.createDirectories(roots.v2().resolve(name));
                dirs.add(dir);
                if (memoryLimit > 0) {
                    Files.writeString(dir.resolve("memory.max"), Long.toString(memoryLimit));
                    writeIfPresent(dir.resolve("memory.swap.max"), "0");
                    // The whole kernel goes at once, not just its biggest process.
                    writeIfPresent(dir.resolve("memory.oom.group"), "1");
                }
                if (maxProcesses > 0) {
                    Files.writeString(dir.resolve("pids.max"), Long.toString(maxProcesses + (long) extraProcesses));
                }
                return new KernelCgroup(dirs, memoryLimit > 0 ? dir : null, true, memoryLimit);
            }
            Path memory = null;
            if (memoryLimit > 0 && roots.v1Memory() != null) {
                memory = Files.createDirectories(roots.v1Memory().resolve(name));
                dirs.add(memory);
                Files.writeString(memory.resolve("memory.limit_in_bytes"), Long.toString(memoryLimit));
                // No swap either, where swap accounting is on: resident memory is what is capped.
                writeIfPresent(memory.resolve("memory.memsw.limit_in_bytes"), Long.toString(memoryLimit));
            }
            if (roots.v1Pids() != null) {
                // Always: the pids cgroup is how a kernel's descendants are found at its end, even without a cap.
                Path pids = Files.createDirectories(roots.v1Pids().resolve(name));
                dirs.add(pids);
                if (maxProcesses > 0) {
                    Files.writeString(pids.resolve("pids.max"), Long.toString(maxProcesses + (long) extraProcesses));
                }
            }
            return dirs.isEmpty() ? null : new KernelCgroup(dirs, memory, false, memoryLimit);
        } catch (IOException | RuntimeException e) {
            dirs.forEach(Cgroups::rmdir);
            throw new KernelStartException("cannot set up the kernel's cgroup under " + (roots.v2() != null ? roots.v2()
                    : roots.v1Memory() + " / " + roots.v1Pids()) + ": " + e.getMessage() + " (-Dcarpo.cgroups=off uses the /proc watchdog)", e);
        }
    }

    /** Whether the memory limit is the OS's here (else the watchdog must enforce it). */
    boolean limitsMemory() {
        return memory != null;
    }

    /** Puts a process in; its later children are born inside. */
    void add(long pid) {
        for (Path dir : dirs) {
            try {
                Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
            } catch (IOException e) {
                if (ProcessHandle.of(pid).isPresent()) {
                    throw new KernelStartException("cannot put kernel process " + pid + " in " + dir + ": " + e.getMessage(), e);
                }
            }
        }
    }

    boolean contains(long pid) {
        for (long p : Cgroups.pids(dirs.get(0))) {
            if (p == pid) {
                return true;
            }
        }
        return false;
    }

    /** Whether the OOM killer has killed anything in here. */
    boolean oomKilled() {
        if (memory == null) {
            return false;
        }
        String file = v2 ? "memory.events" : "memory.oom_control";
        try {
            for (String line : Files.readAllLines(memory.resolve(file))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring(9).trim()) > 0;
                }
            }
            // Kernels before 4.13 have no oom_kill count; hitting the limit with nothing left to reclaim is the sign.
            return !v2 && Long.parseLong(Files.readString(memory.resolve("memory.failcnt")).trim()) > 0
                    && peak() >= memoryLimit - (1 << 20);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The most memory the cgroup was charged, or -1. */
    long peak() {
        if (memory == null) {
            return -1;
        }
        try {
            return Long.parseLong(Files.readString(memory.resolve(v2 ? "memory.peak" : "memory.max_usage_in_bytes")).trim());
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    String describe() {
        return (v2 ? "cgroup v2 " : "cgroup v1 ") + dirs.get(0).getFileName();
    }

    /** SIGKILL to everything still inside. */
    void killAll() {
        dirs.forEach(Cgroups::killAll);
    }

    boolean isEmpty() {
        return dirs.stream().allMatch(d -> Cgroups.pids(d).length == 0);
    }

    /** Removes the cgroup once empty; false while something is still inside. */
    boolean remove() {
        boolean all = true;
        for (Path dir : dirs) {
            all &= Cgroups.rmdir(dir);
        }
        return all;
    }

    private static void writeIfPresent(Path file, String value) {
        if (Files.exists(file)) {
            try {
                Files.writeString(file, value);
            } catch (IOException ignored) {
                // Optional knob (swap accounting off, older kernel).
            }
        }
    }
}

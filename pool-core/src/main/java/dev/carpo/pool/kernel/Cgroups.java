package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where this JVM may make cgroups for its kernels, found once: a {@code carpo-<pid>} directory
 * under this JVM's own cgroup in the cgroup v1 {@code memory} and {@code pids} hierarchies (writable
 * as root, as in most containers), or in a cgroup v2 tree whose {@code cgroup.subtree_control} has
 * (or accepts) {@code memory} and {@code pids} (a delegated cgroup; {@code -Dcarpo.cgroup.root=DIR}
 * names one when this JVM's own cgroup cannot be used). Where there is none, memory limits fall back
 * to the /proc watchdog and process caps are refused.
 *
 * <p>{@code -Dcarpo.cgroups=off} (read once) forces the fallback; tests switch with {@link #override}.
 */
final class Cgroups {
    private static final Logger LOG = LoggerFactory.getLogger(Cgroups.class);
    private static final Path PROC_MOUNTS = Path.of("/proc/self/mountinfo");
    private static final String OFF_PROPERTY = System.getProperty("carpo.cgroups", "");

    /** Where kernel cgroups go: v1 memory and pids dirs (either may be null), or one v2 dir. */
    record Roots(Path v1Memory, Path v1Pids, Path v2) {
        boolean memory() {
            return v1Memory != null || v2 != null;
        }

        boolean pids() {
            return v1Pids != null || v2 != null;
        }
    }

    private static final Roots NONE = new Roots(null, null, null);
    private static volatile Roots found;
    private static volatile Boolean override;

    private Cgroups() {
    }

    /** Forces cgroups on ({@code true}: as detected) or off, or back to the property ({@code null}). For tests. */
    static void override(Boolean useCgroups) {
        override = useCgroups;
    }

    static boolean enabled() {
        Roots r = roots();
        return r.memory() || r.pids();
    }

    static Roots roots() {
        Boolean o = override;
        if (o != null ? !o : "off".equalsIgnoreCase(OFF_PROPERTY)) {
            return NONE;
        }
        Roots r = found;
        if (r == null) {
            synchronized (Cgroups.class) {
                if (found == null) {
                    found = detect();
                }
                r = found;
            }
        }
        return r;
    }

    private static Roots detect() {
        String self = Long.toString(ProcessHandle.current().pid());
        Path v1Memory = null;
        Path v1Pids = null;
        Path v2 = null;
        try {
            List<String> mounts = Files.readAllLines(PROC_MOUNTS);
            List<String> own = Files.readAllLines(Path.of("/proc/self/cgroup"));
            String delegated = System.getProperty("carpo.cgroup.root");
            for (String line : own) {
                String[] f = line.split(":", 3);
                if (f.length < 3) {
                    continue;
                }
                if (f[0].equals("0") && f[1].isEmpty()) {
                    Path mount = mountPoint(mounts, "cgroup2", null);
                    if (mount != null || delegated != null) {
                        v2 = usableV2(delegated != null ? Path.of(delegated) : under(mount, f[2]), self);
                    }
                } else {
                    for (String controller : f[1].split(",")) {
                        if (controller.equals("memory") || controller.equals("pids")) {
                            Path mount = mountPoint(mounts, "cgroup", controller);
                            Path dir = mount == null ? null : usableV1(under(mount, f[2]), self);
                            if (controller.equals("memory")) {
                                v1Memory = dir;
                            } else {
                                v1Pids = dir;
                            }
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.info("no cgroups for kernels ({}): memory limits use the /proc watchdog, maxProcesses is refused", e.toString());
            return NONE;
        }
        Roots r = v1Memory != null || v1Pids != null ? new Roots(v1Memory, v1Pids, null) : new Roots(null, null, v2);
        List<Path> bases = java.util.stream.Stream.of(r.v1Memory(), r.v1Pids(), r.v2()).filter(java.util.Objects::nonNull).toList();
        if (!bases.isEmpty()) {
            // Kernels' cgroups whose removal was still pending, then ours. This hook runs in parallel with the
            // one that ends the kernels, and on v1 there is no cgroup.kill: every process still in a kernel's
            // cgroup is killed here, again until the cgroup is empty and removed, for at most 2 s. What is
            // still there then (a process stuck in uninterruptible sleep, or a JVM killed by SIGKILL) the next
            // carpo JVM's sweep removes.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> emptyAndRemove(bases, 2_000), "carpo-cgroup-cleanup"));
        }
        if (r.memory() || r.pids()) {
            LOG.debug("kernel cgroups: {}", r);
        } else {
            LOG.info("no writable cgroup for kernels: memory limits use the /proc watchdog, maxProcesses is refused");
        }
        return r;
    }

    /** Kills what is in each kernel cgroup under {@code bases} and removes them, then the bases; for at most {@code millis}. */
    static void emptyAndRemove(List<Path> bases, long millis) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
        List<Path> left = new java.util.ArrayList<>();
        for (Path base : bases) {
            try (DirectoryStream<Path> kernels = Files.newDirectoryStream(base, "k-*")) {
                kernels.forEach(left::add);
            } catch (IOException | RuntimeException ignored) {
                // Best effort.
            }
        }
        while (true) {
            left.removeIf(k -> {
                killAll(k);
                return rmdir(k);
            });
            if (left.isEmpty() || System.nanoTime() - deadline >= 0) {
                break;
            }
            try {
                Thread.sleep(20); // SIGKILLed processes leave the cgroup once they have exited
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!left.isEmpty()) {
            LOG.warn("kernel cgroups still not empty {} ms after shutdown began, left in place: {}", millis, left);
        }
        bases.forEach(Cgroups::rmdir);
    }

    private static Path under(Path mount, String path) {
        return path.equals("/") ? mount : mount.resolve(path.substring(1));
    }

    /** The mount point of a cgroup v1 hierarchy with {@code controller}, or of cgroup2. */
    private static Path mountPoint(List<String> mountinfo, String fsType, String controller) {
        for (String line : mountinfo) {
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] pre = line.substring(0, dash).split(" ");
            String[] post = line.substring(dash + 3).split(" ");
            if (post.length < 3 || !post[0].equals(fsType) || pre.length < 5) {
                continue;
            }
            if (controller == null || List.of(post[2].split(",")).contains(controller)) {
                return Path.of(pre[4].replace("\\040", " "));
            }
        }
        return null;
    }

    private static Path usableV1(Path own, String self) {
        Path base = own.resolve("carpo-" + self);
        try {
            Files.createDirectories(base);
            sweepStale(own);
            return base;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static Path usableV2(Path own, String self) {
        try {
            Path control = own.resolve("cgroup.subtree_control");
            String enabled = Files.readString(control);
            if (!enabled.contains("memory") || !enabled.contains("pids")) {
                // EBUSY when this cgroup holds processes (v2's "no internal processes" rule): then only a
                // delegated cgroup of its own (-Dcarpo.cgroup.root) will do.
                Files.writeString(control, "+memory +pids");
            }
            Path base = own.resolve("carpo-" + self);
            Files.createDirectories(base);
            Files.writeString(base.resolve("cgroup.subtree_control"), "+memory +pids");
            sweepStale(own);
            return base;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Removes what JVMs that died without cleaning up left: their kernels' cgroups, killing anything still in them. */
    private static void sweepStale(Path own) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(own, "carpo-*")) {
            for (Path dir : dirs) {
                String pid = dir.getFileName().toString().substring("carpo-".length());
                if (pid.matches("\\d+") && ProcessHandle.of(Long.parseLong(pid)).isEmpty()) {
                    try (DirectoryStream<Path> kernels = Files.newDirectoryStream(dir, "k-*")) {
                        for (Path k : kernels) {
                            killAll(k);
                            rmdir(k);
                        }
                    }
                    rmdir(dir);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // Best effort: stale empty directories cost nothing.
        }
    }

    /** SIGKILL to every process in a cgroup ({@code cgroup.kill} where the kernel has it). */
    static void killAll(Path dir) {
        Path kill = dir.resolve("cgroup.kill");
        if (Files.exists(kill)) {
            try {
                Files.writeString(kill, "1");
                return;
            } catch (IOException ignored) {
                // Fall back to one by one.
            }
        }
        for (long pid : pids(dir)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    static long[] pids(Path dir) {
        try {
            return Files.readAllLines(dir.resolve("cgroup.procs"), StandardCharsets.US_ASCII).stream()
                    .filter(s -> !s.isBlank()).mapToLong(Long::parseLong).toArray();
        } catch (IOException | RuntimeException e) {
            return new long[0];
        }
    }

    static boolean rmdir(Path dir) {
        try {
            Files.deleteIfExists(dir);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}

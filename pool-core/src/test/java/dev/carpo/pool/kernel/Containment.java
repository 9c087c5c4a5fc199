package dev.carpo.pool.kernel;

/** Lets tests outside this package pick the cgroup path or the /proc watchdog path, and ask what the machine has. */
public final class Containment {
    private Containment() {
    }

    /** {@code true}: cgroups as detected; {@code false}: as with {@code -Dcarpo.cgroups=off}; {@code null}: back to the property. */
    public static void useCgroups(Boolean on) {
        Cgroups.override(on);
    }

    /** {@code true}: a PID namespace where bwrap works; {@code false}: as with {@code -Dcarpo.bwrap=off}; {@code null}: back. */
    public static void usePidNamespace(Boolean on) {
        PidNamespace.override(on);
    }

    public static boolean memoryCgroup() {
        return Cgroups.roots().memory();
    }

    public static boolean pidsCgroup() {
        return Cgroups.roots().pids();
    }

    public static boolean pidNamespace() {
        return PidNamespace.enabled();
    }

    /** Anonymous resident bytes of a process tree, as the watchdog counts them. */
    public static long treeAnonRss(long pid) {
        return MemoryWatchdog.treeAnonRss(pid);
    }
}

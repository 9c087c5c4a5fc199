package dev.carpo.pool.kernel;

/**
 * Whether this machine can hold kernels to {@link KernelOptions#memoryLimit()},
 * {@link KernelOptions#maxProcesses()} and {@link KernelOptions#sandbox()}, asked when a pool is
 * created so that a limit that cannot hold is refused up front rather than at every kernel start.
 *
 * <p>Example: {@code KernelLimits.check(200L << 20, 64, false); KernelLimits.checkSandbox();}
 */
public final class KernelLimits {
    private KernelLimits() {
    }

    /**
     * @param remote the kernels run on a gateway, where carpo has no hold on their processes
     * @throws IllegalArgumentException naming the option and why it cannot hold
     */
    public static void check(long memoryLimit, int maxProcesses, boolean remote) {
        if (remote && (memoryLimit > 0 || maxProcesses > 0)) {
            throw new IllegalArgumentException((memoryLimit > 0 ? "memoryLimit" : "maxProcesses")
                    + " is for local kernels only: a gateway's kernels run on its server, beyond carpo's reach"
                    + " (set their limits on the server, e.g. in Enterprise Gateway's kernel launchers)");
        }
        if (!remote && maxProcesses > 0 && !Cgroups.roots().pids()) {
            throw new IllegalArgumentException(noPidsCgroup());
        }
        if (!remote && memoryLimit > 0 && !Cgroups.roots().memory()
                && !java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/self/statm"))) {
            // Without /proc the watchdog would see 0 bytes for ever: a limit that silently never holds.
            throw new IllegalArgumentException("memoryLimit needs a memory cgroup or Linux's /proc (for carpo's watchdog),"
                    + " and there is neither here");
        }
    }

    /**
     * Whether this machine can run sandboxed kernels ({@link KernelOptions#sandbox()}): a working
     * bubblewrap, not turned off.
     *
     * @throws IllegalArgumentException saying why not (bwrap missing, naming the Debian package
     *         {@code bubblewrap}; {@code -Dcarpo.bwrap=off}; bwrap refused here)
     */
    public static void checkSandbox() {
        try {
            PidNamespace.sandboxBwrap();
        } catch (KernelStartException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * As {@link #checkSandbox()}, and refuses a listed path or working directory that would show a
     * kernel another kernel's private directory or the runtime dir.
     *
     * @param runtimeDir where connection files and stderr go, or null for Jupyter's runtime dir
     * @throws IllegalArgumentException naming the path and what it would expose
     */
    public static void checkSandbox(java.util.List<java.nio.file.Path> readOnly, java.util.List<java.nio.file.Path> writable,
                                    java.nio.file.Path workingDirectory, java.nio.file.Path runtimeDir) {
        checkSandbox();
        try {
            SandboxArgs.checkBinds(readOnly, writable, workingDirectory,
                    runtimeDir != null ? runtimeDir : JupyterPaths.fromEnvironment().runtimeDir());
        } catch (KernelStartException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    static String noPidsCgroup() {
        return "maxProcesses needs a writable pids cgroup (cgroup v1 pids hierarchy, or a delegated cgroup v2 with the pids controller"
                + ", -Dcarpo.cgroup.root), and there is none here" + ("off".equalsIgnoreCase(System.getProperty("carpo.cgroups", ""))
                ? " (-Dcarpo.cgroups=off)" : "") + "; RLIMIT_NPROC (prlimit --nproc) is no substitute: it counts every process of"
                + " the user, not the kernel's, and root ignores it";
    }
}

package dev.carpo.pool.kernel;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a kernel as pid 2 of its own PID namespace (bubblewrap), so that when the kernel exits,
 * bwrap's init (pid 1) exits and Linux kills whatever is left in the namespace, double-forked
 * {@code setsid} daemons included; {@code --die-with-parent} ends it all when this JVM dies, even by
 * SIGKILL. Probed once per JVM; where bwrap is missing or refused (no user namespaces for a non-root
 * user, a seccomp profile), kernels start as before and this is logged once.
 *
 * <p>{@code -Dcarpo.bwrap=off} turns it off, and with it sandboxed kernels ({@link KernelSandbox}), which are then refused.
 */
final class PidNamespace {
    private static final Logger LOG = LoggerFactory.getLogger(PidNamespace.class);
    static final Path SETSID = Path.of("/usr/bin/setsid");
    private static final Object PROBE_LOCK = new Object();
    private static volatile List<String> prefix;
    private static volatile Boolean override;
    /** Why kernels run without a namespace, once probed and found so; null while they have one. */
    private static volatile String unavailable;
    /** The program looked for instead of {@code bwrap}, for tests of a missing bwrap; null: bwrap. */
    private static volatile String programOverride;

    /**
     * --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread* that spawned bwrap ends,
     * not the process. Spawning from a pool thread that later idles out would kill its kernels, so
     * every spawn runs on this one thread, which lives as long as the JVM (submit() keeps a task's
     * Throwable in its Future, so the worker is never replaced).
     */
    private static final ExecutorService LAUNCHER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "carpo-kernel-launcher");
        t.setDaemon(true);
        return t;
    });

    private PidNamespace() {
    }

    /** Forces namespaces on ({@code true}: if bwrap works) or off, or back to the property ({@code null}). For tests. */
    static void override(Boolean useNamespace) {
        override = useNamespace;
    }

    /** The argv to put before the kernel's, or an empty list when kernels run without a namespace. */
    static List<String> prefix() {
        if (Boolean.FALSE.equals(override)) {
            return List.of();
        }
        List<String> p = prefix;
        if (p == null) {
            synchronized (PROBE_LOCK) {
                if (prefix == null) {
                    prefix = probe();
                }
                p = prefix;
            }
        }
        return p;
    }

    static boolean enabled() {
        return !prefix().isEmpty();
    }

    /**
     * The bwrap a sandboxed kernel runs under: the one probed for the PID namespace.
     *
     * @throws KernelStartException saying why there is none: bwrap missing (naming the Debian package
     *         {@code bubblewrap}), turned off ({@code -Dcarpo.bwrap=off}), or not working here
     */
    static String sandboxBwrap() {
        if (Boolean.FALSE.equals(override)) {
            throw new KernelStartException(turnedOff());
        }
        List<String> p = prefix();
        if (p.isEmpty()) {
            throw new KernelStartException(unavailable != null ? unavailable : turnedOff());
        }
        return p.get(0);
    }

    private static String turnedOff() {
        return "a sandboxed kernel runs under bubblewrap, and bwrap is turned off here (-Dcarpo.bwrap=off);"
                + " remove the property, or start the pool without a sandbox";
    }

    /** Looks for {@code program} instead of bwrap ({@code null}: bwrap again) and probes anew. For tests. */
    static void overrideProgram(String program) {
        synchronized (PROBE_LOCK) {
            programOverride = program;
            prefix = null;
            unavailable = null;
        }
    }

    /**
     * Starts the process on the launcher thread (see {@link #LAUNCHER}). If the caller gives up (30 s,
     * or interrupted) before the start returns, a process that starts afterwards is killed, with
     * anything it has started: cancelling the task does not stop a fork already under way.
     */
    static Process start(ProcessBuilder builder) throws IOException {
        Launch launch = new Launch();
        Future<Process> f = LAUNCHER.submit(() -> launch.started(builder.start()));
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new KernelStartException("cannot start kernel process: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            launch.abandon();
            f.cancel(true);
            throw new KernelStartException("starting the kernel process took more than 30 s", e);
        } catch (InterruptedException e) {
            launch.abandon();
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new KernelStartException("interrupted while starting the kernel process", e);
        }
    }

    /** A start the caller may give up on: whichever of {@link #started} and {@link #abandon} comes second kills the process. */
    private static final class Launch {
        private Process process;
        private boolean abandoned;

        synchronized Process started(Process p) {
            if (abandoned) {
                kill(p);
            } else {
                process = p;
            }
            return p;
        }

        synchronized void abandon() {
            abandoned = true;
            if (process != null) {
                kill(process);
            }
        }

        private static void kill(Process p) {
            // Descendants first (bwrap's init and the kernel; --die-with-parent would end them too), then bwrap.
            KernelProcess.killTree(p.toHandle());
            LOG.warn("killed kernel process {}, which started after its start had been given up", p.pid());
        }
    }

    private static List<String> probe() {
        if (override == null && "off".equalsIgnoreCase(System.getProperty("carpo.bwrap", ""))) {
            unavailable = turnedOff();
            LOG.info("kernels run without a PID namespace (-Dcarpo.bwrap=off): a double-forked daemon can outlive its kernel"
                    + (Cgroups.enabled() ? " unless the kernel's cgroup catches it" : ""));
            return List.of();
        }
        String program = programOverride != null ? programOverride : "bwrap";
        String bwrap = findOnPath(program);
        if (bwrap == null || !Files.isExecutable(SETSID)) {
            unavailable = bwrap == null
                    ? "a sandboxed kernel runs under bubblewrap, and " + program + " is not installed here (install the Debian package"
                    + " bubblewrap: apt-get install bubblewrap)"
                    : "a sandboxed kernel runs under bubblewrap, started through " + SETSID + ", which is missing (Debian package util-linux)";
            LOG.warn("kernels run without a PID namespace: {} not found; a double-forked daemon can outlive its kernel{}"
                    + " (install bubblewrap)", bwrap == null ? program : SETSID,
                    Cgroups.enabled() ? " unless the kernel's cgroup catches it" : "");
            return List.of();
        }
        List<String> p = List.of(bwrap, "--dev-bind", "/", "/", "--proc", "/proc", "--unshare-pid", "--die-with-parent", "--");
        List<String> command = new ArrayList<>(p);
        command.add(SETSID.toString());
        command.add("--version");
        String why;
        try {
            Process probe = start(new ProcessBuilder(command).redirectErrorStream(true).redirectInput(new File("/dev/null")));
            if (!probe.waitFor(10, TimeUnit.SECONDS)) {
                probe.destroyForcibly();
                why = "bwrap did not finish within 10 s";
            } else if (probe.exitValue() == 0) {
                LOG.debug("kernels run in a PID namespace of their own ({})", bwrap);
                return p;
            } else {
                why = "bwrap exited with " + probe.exitValue() + ": " + new String(probe.getInputStream().readNBytes(2000)).trim();
            }
        } catch (IOException | RuntimeException e) {
            why = "cannot run bwrap: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = "interrupted while probing bwrap";
        }
        unavailable = "a sandboxed kernel runs under bubblewrap, and bwrap does not work here (" + why
                + "; a non-root user needs unprivileged user namespaces)";
        LOG.warn("kernels run without a PID namespace ({}; a non-root user needs unprivileged user namespaces); "
                + "a double-forked daemon can outlive its kernel{}", why, Cgroups.enabled() ? " unless the kernel's cgroup catches it" : "");
        return List.of();
    }

    private static String findOnPath(String program) {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(List.of("/usr/bin", "/bin", "/usr/local/bin"));
        if (path != null) {
            dirs.addAll(0, List.of(path.split(File.pathSeparator)));
        }
        for (String dir : dirs) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, program);
                if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                    return p.toString();
                }
            }
        }
        return null;
    }
}

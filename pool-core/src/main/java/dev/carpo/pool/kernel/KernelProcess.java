package dev.carpo.pool.kernel;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
    private final CompletableFuture<Integer> exit;

    /**
     * @param groupLeader the process leads its own process group (started with setsid): signals
     *        then reach the whole group, as jupyter_client's killpg does, and whatever is left of
     *        the group when the kernel exits is ended with it
     */
    KernelProcess(Process process, Path stderrFile, boolean groupLeader) {
        this.process = process;
        this.stderrFile = stderrFile;
        this.groupLeader = groupLeader;
        if (groupLeader) {
            // Children the kernel's code started (a subprocess, a wrapper's real kernel) must not outlive it.
            // Best effort, and apart from `exit`: a failed cleanup must never hide the kernel's death.
            process.onExit().thenRun(() -> {
                try {
                    kill("KILL", "-" + process.pid());
                } catch (RuntimeException e) {
                    LOG.warn("could not end what is left of kernel process group {}: {}", process.pid(), e.getMessage());
                }
            });
        }
        this.exit = process.onExit().thenApply(Process::exitValue);
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
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
        kill(name, groupLeader ? "-" + process.pid() : Long.toString(process.pid()));
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
        List<ProcessHandle> tree = new ArrayList<>();
        process.descendants().forEach(tree::add);
        tree.add(process.toHandle());
        tree.forEach(ProcessHandle::destroy);
        try {
            process.onExit().get(graceMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            // Still running: forced below.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        try {
            process.onExit().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // SIGKILL cannot be refused; a zombie is reaped by the JDK when it is.
        }
    }

    /** Deletes the stderr file. */
    void deleteFiles() {
        try {
            Files.deleteIfExists(stderrFile);
        } catch (IOException ignored) {
            // Left in the private runtime dir; harmless.
        }
    }
}

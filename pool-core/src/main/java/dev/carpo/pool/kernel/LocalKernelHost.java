package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** A kernel running as a child process of this JVM, with its connection file and reserved ports. */
final class LocalKernelHost implements KernelHost {
    private final KernelProcess process;
    private final ConnectionInfo info;
    private final Path connectionFile;

    LocalKernelHost(KernelProcess process, ConnectionInfo info, Path connectionFile) {
        this.process = process;
        this.info = info;
        this.connectionFile = connectionFile;
    }

    @Override
    public long pid() {
        return process.pid();
    }

    @Override
    public boolean isRemote() {
        return false;
    }

    @Override
    public String location() {
        return "local";
    }

    @Override
    public CompletableFuture<Integer> onExit() {
        return process.onExit();
    }

    @Override
    public boolean isRunning() {
        return process.isAlive();
    }

    @Override
    public String goneDetail() {
        return null;
    }

    @Override
    public String stderrTail(int maxLines) {
        return process.stderrTail(maxLines);
    }

    @Override
    public void interrupt() {
        process.signal("INT");
    }

    @Override
    public void terminate(long graceMillis) {
        process.terminateTree(graceMillis);
    }

    @Override
    public void cleanup() {
        try {
            Files.deleteIfExists(connectionFile);
        } catch (IOException ignored) {
            // Stays in the private runtime dir.
        }
        process.deleteFiles();
        PortReservations.release(info.ports().values());
    }

    @Override
    public KernelMemoryLimitException memoryLimitDeath(String kernelId, String stderrTail) {
        return process.memoryLimitDeath(kernelId, stderrTail);
    }

    @Override
    public String describe() {
        return "process " + process.pid();
    }
}

package dev.carpo.pool.kernel;

import java.util.concurrent.CompletableFuture;

/** A kernel running as a child process of this JVM, with what it holds here ({@link LocalResources}). */
final class LocalKernelHost implements KernelHost {
    private final KernelProcess process;
    private final LocalResources resources;

    LocalKernelHost(KernelProcess process, LocalResources resources) {
        this.process = process;
        this.resources = resources;
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
        resources.release();
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

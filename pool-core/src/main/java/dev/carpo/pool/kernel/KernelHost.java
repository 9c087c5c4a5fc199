package dev.carpo.pool.kernel;

import java.util.concurrent.CompletableFuture;

/**
 * Where one kernel runs and how it is signalled and ended: a local child process
 * ({@link LocalKernelHost}), a kernel a Jupyter Server or Enterprise Gateway runs for us
 * ({@link RemoteKernelHost}), or one this JVM serves itself ({@link InProcessKernelHost}). The
 * blocking methods run on the runtime's blocking executor.
 */
interface KernelHost {
    /** The local process id, or -1 for a remote or in-process kernel. */
    long pid();

    boolean isRemote();

    /** {@code local}, or the gateway's {@code host:port}: the metrics' {@code location} tag. */
    String location();

    /** Completes when the kernel is gone: with its exit code, or {@code null} where none is known (remote). */
    CompletableFuture<Integer> onExit();

    boolean isRunning();

    /** Why the kernel is gone when there is no exit code to say it ({@code null} for a local process). */
    String goneDetail();

    /** The kernel's last stderr lines (empty for a remote kernel, whose stderr stays on its server). */
    String stderrTail(int maxLines);

    /** Interrupts by the host's means (SIGINT to the process group, or the server's interrupt call). Blocking. */
    void interrupt();

    /** Ends the kernel: SIGTERM then SIGKILL after {@code graceMillis}, or DELETE on the server. Blocking. */
    void terminate(long graceMillis);

    /** Deletes what the kernel left behind here (connection file, stderr file, reserved ports). */
    void cleanup();

    /** Once the kernel is gone: why, when it was stopped for going over its memory limit; else {@code null}. */
    default KernelMemoryLimitException memoryLimitDeath(String kernelId, String stderrTail) {
        return null;
    }

    /** The kernel's handle for messages: {@code process 123}, or {@code gateway kernel <id> on host:port}. */
    String describe();
}

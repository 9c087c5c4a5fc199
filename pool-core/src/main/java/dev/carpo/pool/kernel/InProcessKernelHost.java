package dev.carpo.pool.kernel;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/** A kernel served in this JVM by an {@link InProcessKernel}, on reserved loopback ports. */
final class InProcessKernelHost implements KernelHost {
    /** How long {@link #terminate} waits for a killed kernel's end, as a process host waits for SIGKILL. */
    private static final long KILL_WAIT_SECONDS = 5;

    private final InProcessKernel.Handle handle;
    private final ConnectionInfo info;
    private final String provisionerName;
    private final CompletableFuture<Integer> exited;

    /**
     * @param blocking where the kernel's end is reported: never on the kernel's own threads (its exit may
     *        complete on its last one), as a process's end comes on the JDK's reaper thread
     */
    InProcessKernelHost(InProcessKernel.Handle handle, ConnectionInfo info, String provisionerName, Executor blocking) {
        this.handle = handle;
        this.info = info;
        this.provisionerName = provisionerName;
        Executor elsewhere = task -> {
            try {
                blocking.execute(task);
            } catch (RejectedExecutionException closed) {
                Thread t = new Thread(task, "carpo-in-process-exit");
                t.setDaemon(true);
                t.start(); // the runtime is closing: its kernel's end must still be seen
            }
        };
        this.exited = handle.onExit().whenCompleteAsync((code, error) -> { }, elsewhere)
                .exceptionally(error -> null); // an end without a code is still an end
    }

    /** No process of its own. */
    @Override
    public long pid() {
        return -1;
    }

    @Override
    public boolean isRemote() {
        return false;
    }

    /** {@code local}: it runs on this host, and the metrics' location tag keeps two values. */
    @Override
    public String location() {
        return "local";
    }

    @Override
    public CompletableFuture<Integer> onExit() {
        return exited;
    }

    @Override
    public boolean isRunning() {
        return !exited.isDone();
    }

    @Override
    public String goneDetail() {
        return null;
    }

    /** Its stderr is this JVM's. */
    @Override
    public String stderrTail(int maxLines) {
        return "";
    }

    @Override
    public void interrupt() {
        handle.interrupt();
    }

    /** No SIGTERM step: an in-process kernel that outlived its shutdown_request's grace is killed. */
    @Override
    public void terminate(long graceMillis) {
        handle.kill();
        try {
            exited.get(KILL_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception notYet) {
            // Its threads end when its running cell returns; the kernel is dead to us either way once onExit completes.
        }
    }

    @Override
    public void cleanup() {
        PortReservations.release(info.ports().values());
    }

    @Override
    public String describe() {
        return "in-process kernel (provisioner " + provisionerName + ")";
    }
}

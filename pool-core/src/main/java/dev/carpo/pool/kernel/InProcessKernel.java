package dev.carpo.pool.kernel;

import java.util.concurrent.CompletableFuture;

/**
 * A kernel this JVM serves itself on the connection it is given, instead of a process it launches.
 * Registered with {@link KernelRuntime#serveInProcess} under a provisioner name; a kernelspec that
 * names that provisioner in {@code metadata.kernel_provisioner.provisioner_name} (as jupyter_client
 * chooses a kernel provisioner) is then started by {@link #serve} rather than by running its argv.
 *
 * <p>Nothing else changes: the runtime reserves the five loopback ports and makes a fresh key as for
 * a child process, and talks to the kernel over ZeroMQ with signed messages, kernel_info readiness,
 * heartbeats and shutdown_request like to any kernel. Such a kernel shares this JVM's memory and
 * threads, so {@link KernelOptions#memoryLimit()} and {@link KernelOptions#maxProcesses()} are
 * refused for it, and {@link KernelOptions#env()} and {@link KernelOptions#workingDirectory()} do not
 * apply. {@code dev.carpo.pool.server.KernelServer.start} serves an {@code Interpreter} this way.
 *
 * <p>The methods correspond to jupyter_client's {@code KernelProvisionerBase}: {@link #serve} to
 * {@code launch_kernel}, {@link Handle#onExit} to {@code poll}/{@code wait}, {@link Handle#interrupt}
 * to {@code send_signal(SIGINT)}, {@link Handle#kill} to {@code kill}.
 */
public interface InProcessKernel {

    /**
     * Starts serving one new kernel on {@code connection} and returns its handle: binds (or begins
     * to bind) the five channels at {@link ConnectionInfo#endpoint}, and checks and signs every
     * message with {@link ConnectionInfo#signer()}.
     *
     * <p>Called by the runtime's start of a kernel whose spec names this provisioner
     * ({@link KernelRuntime#start}; for a pool, on one of its starter threads), once per kernel, in
     * place of launching a process. It may block while the kernel comes up; the kernel counts as
     * ready once it answers kernel_info_request, and its start fails if that has not happened within
     * {@link KernelOptions#startupTimeout()} (the handle is then ended with shutdown_request and
     * {@link Handle#kill}). A {@code RuntimeException} fails the start with a
     * {@link KernelStartException}; the ports are released either way when the kernel is gone.
     *
     * @param kernelId the id the runtime gave the kernel ({@link Kernel#id()})
     * @param connection loopback ports, key and signature scheme for this kernel
     */
    Handle serve(String kernelId, ConnectionInfo connection);

    /** One kernel being served: how the runtime learns of its end and signals it. */
    interface Handle {
        /**
         * Completes once the kernel has stopped serving (its sockets closed), after a shutdown_request,
         * {@link #kill}, or on its own (a death), with an exit code, or {@code null} where there is none.
         * Called once by the runtime as soon as {@link InProcessKernel#serve} returns; its completion is
         * the kernel's death, which fails whatever is in flight on it.
         */
        CompletableFuture<Integer> onExit();

        /**
         * Interrupts the running cell, as SIGINT does a kernel process (a kernel drops one that comes
         * between cells). Called on the runtime's blocking executor by {@link Kernel#interrupt()} for a
         * spec whose {@code interrupt_mode} is {@code signal}, the default (with {@code message} the
         * runtime sends interrupt_request on control instead), and by {@link Kernel#shutdown()} first
         * when code may be running. Its return is the interrupt's delivery.
         */
        void interrupt();

        /**
         * Ends the kernel at once, as SIGKILL: it sends nothing more, and {@link #onExit} completes
         * soon after. Called on the runtime's blocking executor by {@link Kernel#kill()}, and by
         * {@link Kernel#shutdown()} when the kernel has not exited within
         * {@link KernelOptions#shutdownGrace()} of its shutdown_request (there is no SIGTERM step).
         * May be called more than once, and after the kernel has ended.
         */
        void kill();
    }
}

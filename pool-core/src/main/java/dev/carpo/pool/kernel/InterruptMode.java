package dev.carpo.pool.kernel;

/** How a kernel is interrupted, from its kernelspec's {@code interrupt_mode}. */
public enum InterruptMode {
    /** SIGINT to the kernel process (the default). */
    SIGNAL,
    /** An {@code interrupt_request} on the control channel. */
    MESSAGE
}

package dev.carpo.pool.kernel;

/** Base of every failure in the kernel layer that is not a kernel-side error in user code. */
public class KernelException extends RuntimeException {
    public KernelException(String message) {
        super(message);
    }

    public KernelException(String message, Throwable cause) {
        super(message, cause);
    }
}

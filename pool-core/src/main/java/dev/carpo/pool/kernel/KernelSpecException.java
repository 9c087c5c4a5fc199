package dev.carpo.pool.kernel;

/**
 * A kernelspec that cannot be found or read. The message names every place searched, or the file
 * and field that is wrong.
 */
public class KernelSpecException extends KernelException {
    public KernelSpecException(String message) {
        super(message);
    }

    public KernelSpecException(String message, Throwable cause) {
        super(message, cause);
    }
}

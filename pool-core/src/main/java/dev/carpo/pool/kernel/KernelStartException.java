package dev.carpo.pool.kernel;

/**
 * A kernel that could not be started or did not become ready: names the kernelspec and carries the
 * kernel's exit code and stderr tail when it got that far.
 */
public class KernelStartException extends KernelException {
    public KernelStartException(String message) {
        super(message);
    }

    public KernelStartException(String message, Throwable cause) {
        super(message, cause);
    }
}

package dev.carpo.pool.kernel;

import java.time.Duration;

/** An execution that did not complete within its timeout. The code may still be running in the kernel. */
public class ExecutionTimeoutException extends KernelException {
    private final String kernelId;

    public ExecutionTimeoutException(String kernelId, String msgId, Duration timeout) {
        super("execution " + msgId + " on kernel " + kernelId + " did not complete within " + timeout.toMillis() + " ms");
        this.kernelId = kernelId;
    }

    public String kernelId() {
        return kernelId;
    }
}

package dev.carpo.pool.kernel;

import java.time.Duration;

/** A request other than execute (complete, inspect, kernel_info, …) got no reply within the kernel's request timeout. */
public class RequestTimeoutException extends KernelException {
    private final String kernelId;

    public RequestTimeoutException(String kernelId, String msgType, String msgId, Duration timeout) {
        super(msgType + " " + msgId + " to kernel " + kernelId + " got no reply within " + timeout.toMillis() + " ms");
        this.kernelId = kernelId;
    }

    public String kernelId() {
        return kernelId;
    }
}

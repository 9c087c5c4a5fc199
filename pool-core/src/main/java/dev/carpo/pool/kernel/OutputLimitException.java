package dev.carpo.pool.kernel;

/**
 * A kernel sent a message too large to receive ({@link KernelOptions#maxMessageBytes()}): it was
 * refused unread, so the executions it was meant for cannot be complete. Names the kernel, the channel
 * and the bound.
 */
public class OutputLimitException extends KernelException {
    private final String channel;
    private final long limitBytes;

    public OutputLimitException(String kernelId, String channel, long limitBytes) {
        this(kernelId, channel, limitBytes, "sent a message on " + channel + " larger than the " + Bytes.describe(limitBytes)
                + " a message may have; it was refused unread");
    }

    /** @param what what the kernel did, after "kernel ID " */
    public OutputLimitException(String kernelId, String channel, long limitBytes, String what) {
        super("kernel " + kernelId + " " + what);
        this.channel = channel;
        this.limitBytes = limitBytes;
    }

    /** shell, iopub, control or stdin. */
    public String channel() {
        return channel;
    }

    public long limitBytes() {
        return limitBytes;
    }
}

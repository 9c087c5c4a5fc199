package dev.carpo.pool.kernel;

/**
 * The kernel went over its {@link KernelOptions#memoryLimit()} and was stopped: a death with its
 * cause, the limit and the peak seen.
 */
public class KernelMemoryLimitException extends KernelDiedException {
    private final long limitBytes;
    private final long peakBytes;

    public KernelMemoryLimitException(String kernelId, long limitBytes, long peakBytes, String how, String stderrTail) {
        super(kernelId, "went over its memory limit of " + Bytes.describe(limitBytes)
                + (peakBytes > 0 ? " (peak " + Bytes.describe(peakBytes) + ")" : "") + " and was stopped" + (how.isEmpty() ? "" : " by " + how),
                null, stderrTail);
        this.limitBytes = limitBytes;
        this.peakBytes = peakBytes;
    }

    public long limitBytes() {
        return limitBytes;
    }

    /** The most the kernel was seen to use, in bytes, or -1. */
    public long peakBytes() {
        return peakBytes;
    }
}

package dev.carpo.pool;

/**
 * The job's kernel went over the pool's {@link PoolOptions#memoryLimit()} and was stopped; the pool
 * replaces it as after any death. The message names the pool, the instance, the limit and the peak
 * seen: {@code pool 'python' instance 1: kernel … went over its memory limit of 256.0 MiB (peak 262.4 MiB)}.
 */
public class PoolMemoryLimitException extends PoolKernelDiedException {
    private final long limitBytes;
    private final long peakBytes;

    public PoolMemoryLimitException(String pool, int instance, String message, long limitBytes, long peakBytes, Throwable cause) {
        super(pool, instance, message, cause);
        this.limitBytes = limitBytes;
        this.peakBytes = peakBytes;
    }

    /** The limit, in bytes. */
    public long limitBytes() {
        return limitBytes;
    }

    /** The most the kernel was seen to use, in bytes (-1 when unknown). */
    public long peakBytes() {
        return peakBytes;
    }

    @Override
    public String reason() {
        return "memory_limit";
    }
}

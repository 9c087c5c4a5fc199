package dev.carpo.pool;

/** The job was cancelled before it completed. */
public class PoolCancelledException extends PoolException {
    public PoolCancelledException(String pool, int instance, String message, Throwable cause) {
        super(pool, instance, message, cause);
    }

    @Override
    public String reason() {
        return "cancelled";
    }
}

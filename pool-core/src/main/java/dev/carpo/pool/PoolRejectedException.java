package dev.carpo.pool;

/** The pool's queue was full (maxQueued), so the job was refused at once. */
public class PoolRejectedException extends PoolException {
    public PoolRejectedException(String pool, int instance, String message, Throwable cause) {
        super(pool, instance, message, cause);
    }

    @Override
    public String reason() {
        return "rejected";
    }
}

package dev.carpo.pool;

/** The pool was shut down before the job completed. */
public class PoolClosedException extends PoolException {
    public PoolClosedException(String pool, int instance, String message, Throwable cause) {
        super(pool, instance, message, cause);
    }

    @Override
    public String reason() {
        return "closed";
    }
}

package dev.carpo.pool;

/** The job did not complete within its timeout. A running job's kernel was interrupted (and replaced if it did not return to idle). */
public class PoolTimeoutException extends PoolException {
    public PoolTimeoutException(String pool, int instance, String message, Throwable cause) {
        super(pool, instance, message, cause);
    }

    @Override
    public String reason() {
        return "timeout";
    }
}

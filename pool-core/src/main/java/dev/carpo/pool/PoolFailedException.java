package dev.carpo.pool;

/** The pool could not start kernels (the cause names the spec, exit code and stderr); it fails submissions at once until a start succeeds. */
public class PoolFailedException extends PoolException {
    public PoolFailedException(String pool, int instance, String message, Throwable cause) {
        super(pool, instance, message, cause);
    }

    @Override
    public String reason() {
        return "failed";
    }
}

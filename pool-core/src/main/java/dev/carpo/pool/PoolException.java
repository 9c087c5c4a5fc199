package dev.carpo.pool;

/**
 * A job or pool operation that failed outside the kernel's own code: timed out, kernel died,
 * cancelled, rejected, pool closed, or pool failed. A kernel-side error in user code is not an
 * exception: it is an {@link ExecutionResult} with status {@link ExecutionStatus#ERROR}.
 *
 * <p>Example: {@code catch (PoolException e) { log.warn("{} on {}[{}]: {}", e.reason(), e.pool(), e.instance(), e.getMessage()); }}
 */
public abstract class PoolException extends RuntimeException {
    private final String pool;
    private final int instance;
    private final String detail;

    protected PoolException(String pool, int instance, String message, Throwable cause) {
        super("pool '" + pool + "'" + (instance >= 0 ? " instance " + instance : "") + ": " + message, cause);
        this.pool = pool;
        this.instance = instance;
        this.detail = message;
    }

    /** What went wrong, without the pool and instance prefix of {@link #getMessage()} (for callers that number instances their own way). */
    public String detail() {
        return detail;
    }

    /** The pool's language key. */
    public String pool() {
        return pool;
    }

    /** The instance (0-based) the job was on, or -1 when it never reached one. */
    public int instance() {
        return instance;
    }

    /** A short machine-readable reason: timeout, kernel_died, cancelled, rejected, closed, failed. */
    public abstract String reason();
}

package dev.carpo.pool;

/**
 * The job's kernel sent one message larger than the pool accepts ({@link PoolOptions#maxMessageBytes()}:
 * twice {@link PoolOptions#maxOutputBytes()} plus 64 KiB, at least 2 MiB + 64 KiB): it was refused unread, the job ended at once
 * and its kernel was interrupted (or replaced, if it did not come back). The message says which
 * channel and the bound. Output within the limit is never an exception: it is kept head and tail,
 * with {@link ExecutionResult#truncated()}.
 */
public class PoolOutputLimitException extends PoolException {
    public PoolOutputLimitException(String pool, int instance, String message, Throwable cause) {
        super(pool, instance, message, cause);
    }

    @Override
    public String reason() {
        return "output_limit";
    }
}

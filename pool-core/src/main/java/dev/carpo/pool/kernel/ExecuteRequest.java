package dev.carpo.pool.kernel;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One {@code execute_request} and how to handle it.
 *
 * <p>Example: {@code kernel.execute(ExecuteRequest.builder("print(1)").stopOnError(false).timeout(Duration.ofSeconds(5)).build())}
 *
 * <p>Constructing one with code that has an unpaired surrogate throws {@link IllegalArgumentException}
 * naming its index, line and column: such code has no UTF-8 form, and ipykernel crashes on one.
 *
 * @param code the code to run
 * @param silent run without broadcasting output or incrementing the execution count
 * @param storeHistory record the code in the kernel's history
 * @param stopOnError abort queued executions after an error (jupyter_client's default is true)
 * @param userExpressions expressions to evaluate after the code, by name
 * @param input answers {@code input()}; with none, {@code allow_stdin} is false and input raises in the kernel
 * @param listener streamed outputs, or {@code null}
 * @param timeout how long until the execution's future fails with {@link ExecutionTimeoutException}, or
 *                {@code null} for none (the code keeps running in the kernel; interrupt it if needed);
 *                one longer than {@link InputChecks#MAX_DURATION} is clamped to it
 * @param maxOutputBytes output kept at most (UTF-8 bytes of stream text, rich data, tracebacks and reply
 *                payloads); past it the head and the tail are kept ({@link KernelExecution#truncated()})
 */
public record ExecuteRequest(
        String code,
        boolean silent,
        boolean storeHistory,
        boolean stopOnError,
        Map<String, String> userExpressions,
        InputHandler input,
        OutputListener listener,
        Duration timeout,
        long maxOutputBytes) {

    /** {@link #maxOutputBytes()} unless set: 1 MiB. */
    public static final long DEFAULT_MAX_OUTPUT_BYTES = 1L << 20;

    public ExecuteRequest {
        Objects.requireNonNull(code, "code");
        InputChecks.checkCode(code, "code");
        userExpressions = Map.copyOf(userExpressions);
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("execute timeout must be positive, got " + timeout);
        }
        timeout = InputChecks.clamp(timeout);
        if (maxOutputBytes < 1024) {
            throw new IllegalArgumentException("execute maxOutputBytes must be at least 1024 bytes, got " + maxOutputBytes);
        }
    }

    /** Just the code, with jupyter_client's defaults. */
    public static ExecuteRequest of(String code) {
        return builder(code).build();
    }

    public static Builder builder(String code) {
        return new Builder(code);
    }

    /** Builder for {@link ExecuteRequest}. */
    public static final class Builder {
        private final String code;
        private boolean silent;
        private boolean storeHistory = true;
        private boolean stopOnError = true;
        private final Map<String, String> userExpressions = new LinkedHashMap<>();
        private InputHandler input;
        private OutputListener listener;
        private Duration timeout;
        private long maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES;

        private Builder(String code) {
            this.code = code;
        }

        public Builder silent(boolean silent) {
            this.silent = silent;
            return this;
        }

        public Builder storeHistory(boolean storeHistory) {
            this.storeHistory = storeHistory;
            return this;
        }

        public Builder stopOnError(boolean stopOnError) {
            this.stopOnError = stopOnError;
            return this;
        }

        public Builder userExpression(String name, String expression) {
            userExpressions.put(name, expression);
            return this;
        }

        public Builder input(InputHandler input) {
            this.input = input;
            return this;
        }

        public Builder listener(OutputListener listener) {
            this.listener = listener;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder maxOutputBytes(long bytes) {
            this.maxOutputBytes = bytes;
            return this;
        }

        public ExecuteRequest build() {
            return new ExecuteRequest(code, silent, storeHistory, stopOnError, userExpressions, input, listener, timeout, maxOutputBytes);
        }
    }
}

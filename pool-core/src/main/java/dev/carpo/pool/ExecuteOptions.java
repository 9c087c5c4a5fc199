package dev.carpo.pool;

import dev.carpo.pool.kernel.InputHandler;
import dev.carpo.pool.kernel.OutputListener;
import java.time.Duration;

/**
 * Per-job options.
 *
 * <p>Example: {@code py.submit("x + 1", ExecuteOptions.builder().instance(1).timeout(Duration.ofSeconds(5)).build())}
 *
 * @param instance the instance (0-based) to run on, or {@code null} to let the pool's strategy place it
 * @param timeout from submission to completion, or {@code null} for the pool's default; one longer than
 *        {@link PoolOptions#MAX_DURATION} (about 11.6 days, up to {@code ChronoUnit.FOREVER.getDuration()})
 *        means "no limit" and is clamped to it
 * @param listener outputs as they stream, or {@code null}
 * @param input answers {@code input()} in the code, or {@code null} (input then raises in the kernel)
 * @param maxOutputBytes output this job keeps at most, or {@code null} for the pool's
 *        {@link PoolOptions#maxOutputBytes()}; one kernel message is still refused past the pool's own bound
 */
public record ExecuteOptions(Integer instance, Duration timeout, OutputListener listener, InputHandler input, Long maxOutputBytes) {

    /** No instance, the pool's default timeout. */
    public static final ExecuteOptions DEFAULTS = new ExecuteOptions(null, null, null, null, null);

    public ExecuteOptions {
        if (instance != null && instance < 0) {
            throw new IllegalArgumentException("ExecuteOptions.instance must be >= 0, got " + instance);
        }
        if (timeout != null && (timeout.isZero() || timeout.isNegative())) {
            throw new IllegalArgumentException("ExecuteOptions.timeout must be positive, got " + timeout);
        }
        timeout = dev.carpo.pool.kernel.InputChecks.clamp(timeout);
        if (maxOutputBytes != null && maxOutputBytes < 1024) {
            throw new IllegalArgumentException("ExecuteOptions.maxOutputBytes must be at least 1024 bytes, got " + maxOutputBytes);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link ExecuteOptions}. */
    public static final class Builder {
        private Integer instance;
        private Duration timeout;
        private OutputListener listener;
        private InputHandler input;
        private Long maxOutputBytes;

        public Builder instance(int instance) {
            this.instance = instance;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder listener(OutputListener listener) {
            this.listener = listener;
            return this;
        }

        public Builder input(InputHandler input) {
            this.input = input;
            return this;
        }

        /** Output this job keeps at most, in bytes; see {@link PoolOptions#maxOutputBytes()}. */
        public Builder maxOutputBytes(long bytes) {
            this.maxOutputBytes = bytes;
            return this;
        }

        public ExecuteOptions build() {
            return new ExecuteOptions(instance, timeout, listener, input, maxOutputBytes);
        }
    }
}

package dev.carpo.pool.engine;

import java.time.Duration;

/**
 * Delay before the next kernel start after consecutive failures: {@code initial}, doubling, capped
 * at {@code max}. Pure, so it is unit-tested on its own.
 *
 * @param initial delay after the first failure
 * @param max the longest delay
 */
record Backoff(Duration initial, Duration max) {
    Backoff {
        if (initial.isNegative() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff needs 0 <= initial <= max, got " + initial + ", " + max);
        }
    }

    /** The delay after {@code failures} consecutive failures (0 = no delay). */
    Duration delay(int failures) {
        if (failures <= 0) {
            return Duration.ZERO;
        }
        Duration d = initial;
        for (int i = 1; i < failures && d.compareTo(max) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(max) > 0 ? max : d;
    }
}

package dev.carpo.pool;

import java.time.Duration;
import java.time.Instant;

/**
 * A kernel lifecycle event in a pool.
 *
 * <p>Example: {@code e.type() == PoolEvent.Type.READY} → {@code "python[1] ready in 812 ms (kernel 6f2…, pid 4242)"}.
 *
 * @param type what happened
 * @param language the pool's language key
 * @param instance the instance index (0-based), or -1 when the kernel is not (yet, or any more) an instance
 * @param kernelId the kernel's id
 * @param pid the kernel process id, or -1
 * @param elapsed for READY and RESTARTED, the start-up time; otherwise zero
 * @param detail a human-readable detail (cause of death, …), may be empty
 * @param time when it happened
 */
public record PoolEvent(Type type, String language, int instance, String kernelId, long pid, Duration elapsed,
                        String detail, Instant time) {

    /** Event types. */
    public enum Type { STARTING, READY, BUSY, IDLE, DEAD, RESTARTED, RETIRED }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(language);
        if (instance >= 0) {
            sb.append('[').append(instance).append(']');
        }
        sb.append(' ').append(type.name().toLowerCase(java.util.Locale.ROOT));
        if (!elapsed.isZero()) {
            sb.append(" in ").append(elapsed.toMillis()).append(" ms");
        }
        sb.append(" (kernel ").append(kernelId);
        if (pid > 0) {
            sb.append(", pid ").append(pid);
        }
        sb.append(')');
        if (!detail.isEmpty()) {
            sb.append(": ").append(detail);
        }
        return sb.toString();
    }
}

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
 * @param detail a human-readable detail (cause of death, the limit a recycle reached, …), may be empty
 * @param reason for RETIRED and DEAD, why the kernel went; {@code null} for other types
 * @param time when it happened
 */
public record PoolEvent(Type type, String language, int instance, String kernelId, long pid, Duration elapsed,
                        String detail, Reason reason, Instant time) {

    /** Event types. */
    public enum Type { STARTING, READY, BUSY, IDLE, DEAD, RESTARTED, RETIRED }

    /**
     * Why a kernel left its pool: the first six are retirements (the pool ended a healthy kernel,
     * event RETIRED), the others deaths (event DEAD). Each is counted in {@link PoolStats#reasons()} and
     * in the meters {@code carpo.kernel.retirements} / {@code carpo.kernel.deaths}, tagged with its
     * {@link #label()}.
     */
    public enum Reason {
        /** An elastic pool's kernel above {@code min} had nothing to do (it stays warm until the idle timeout). */
        IDLE(false),
        /** The pool was scaled down. */
        SCALE(false),
        /** The kernel reached {@code maxLifetime} and was idle. */
        LIFETIME(false),
        /** The kernel ran {@code maxExecutions} jobs. */
        EXECUTIONS(false),
        /** Its lease (or, with {@code freshLeases}, its one job) ended, and a fresh-leases pool discards used kernels. */
        LEASE_END(false),
        /** The pool was shut down (by its owner, or at JVM exit). */
        CLOSED(false),
        /** The kernel went over its {@code memoryLimit} and was stopped. */
        MEMORY_LIMIT(true),
        /** The kernel process exited on its own (the detail gives the exit code or signal). */
        CRASH(true),
        /** The kernel stopped answering heartbeats (or its link to this JVM failed), and was killed. */
        HEARTBEAT(true),
        /** The kernel did not return to idle within {@code interruptGrace} after an interrupt, and was killed. */
        INTERRUPT_FAILED(true),
        /** The gateway lost the kernel: it died there, was culled, or the gateway stopped answering for it. */
        GATEWAY_LOST(true);

        private final boolean death;

        Reason(boolean death) {
            this.death = death;
        }

        /** Whether it is a death (event DEAD) rather than a retirement (event RETIRED). */
        public boolean isDeath() {
            return death;
        }

        /** The lower-case name used in metrics tags, Lua tables and progress lines: {@code lease_end}. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

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
        if (reason != null) {
            sb.append(": ").append(reason.label());
        }
        if (!detail.isEmpty()) {
            sb.append(reason != null ? " " : ": ").append(detail);
        }
        return sb.toString();
    }
}

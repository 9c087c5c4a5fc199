package dev.carpo.pool.kernel;

/**
 * The kernel a request was running on died: its process exited, its heartbeat stopped, or it was
 * shut down. Names the kernel, its exit code (if it exited) and the tail of its stderr.
 */
public class KernelDiedException extends KernelException {
    private final String kernelId;
    private final Integer exitCode;
    private final String stderrTail;
    private final boolean requested;

    public KernelDiedException(String kernelId, String reason, Integer exitCode, String stderrTail) {
        this(kernelId, reason, exitCode, stderrTail, false);
    }

    /**
     * @param requested the kernel ended because it was asked to shut down, not on its own
     */
    public KernelDiedException(String kernelId, String reason, Integer exitCode, String stderrTail, boolean requested) {
        super(describe(kernelId, reason, exitCode, stderrTail));
        this.kernelId = kernelId;
        this.exitCode = exitCode;
        this.stderrTail = stderrTail == null ? "" : stderrTail;
        this.requested = requested;
    }

    /** Whether the kernel ended because it was shut down on request (by its owner or at JVM exit). */
    public boolean requested() {
        return requested;
    }

    private static String describe(String kernelId, String reason, Integer exitCode, String stderrTail) {
        StringBuilder sb = new StringBuilder("kernel ").append(kernelId).append(' ').append(reason);
        if (exitCode != null) {
            sb.append(" (exit code ").append(exitCode);
            if (exitCode > 128) {
                sb.append(", signal ").append(exitCode - 128);
            }
            sb.append(')');
        }
        if (stderrTail != null && !stderrTail.isBlank()) {
            sb.append("; last stderr:\n").append(stderrTail);
        }
        return sb.toString();
    }

    /** A cause in a few words: its message, with wrappers (CompletionException, …) taken off. */
    static String describe(Throwable error) {
        Throwable e = error;
        while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    public String kernelId() {
        return kernelId;
    }

    /** The process exit code, or {@code null} when the process had not exited (heartbeat loss). */
    public Integer exitCode() {
        return exitCode;
    }

    public String stderrTail() {
        return stderrTail;
    }
}

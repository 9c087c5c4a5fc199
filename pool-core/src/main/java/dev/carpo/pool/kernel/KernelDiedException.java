package dev.carpo.pool.kernel;

/**
 * The kernel a request was running on died: its process exited, its heartbeat stopped, or it was
 * shut down. Names the kernel, its exit code (if it exited) and the tail of its stderr.
 */
public class KernelDiedException extends KernelException {
    private final String kernelId;
    private final Integer exitCode;
    private final String stderrTail;

    public KernelDiedException(String kernelId, String reason, Integer exitCode, String stderrTail) {
        super(describe(kernelId, reason, exitCode, stderrTail));
        this.kernelId = kernelId;
        this.exitCode = exitCode;
        this.stderrTail = stderrTail == null ? "" : stderrTail;
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

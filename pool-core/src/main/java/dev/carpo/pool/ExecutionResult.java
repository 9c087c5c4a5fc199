package dev.carpo.pool;

import dev.carpo.pool.kernel.DisplayOutput;
import dev.carpo.pool.kernel.ExecutionError;
import dev.carpo.pool.kernel.KernelExecution;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of one job: what the kernel said, and where and when it ran. A kernel-side error is a
 * result with status {@link ExecutionStatus#ERROR}, not an exception.
 *
 * <p>Example:
 * <pre>{@code
 * ExecutionResult r = py.execute("print('hi'); 21 * 2");
 * r.status();    // OK
 * r.stdout();    // "hi\n"
 * r.text();      // "42"
 * r.instance();  // 0
 * }</pre>
 */
public final class ExecutionResult {
    private final KernelExecution execution;
    private final int instance;
    private final String kernelId;
    private final Duration queueWait;
    private final boolean valuesAsDisplayData;

    /**
     * @param valuesAsDisplayData the kernel shows values as display_data, never execute_result
     *        (IRkernel does): its last display_data is then the result
     */
    ExecutionResult(KernelExecution execution, int instance, String kernelId, Duration queueWait, boolean valuesAsDisplayData) {
        this.execution = execution;
        this.instance = instance;
        this.kernelId = kernelId;
        this.queueWait = queueWait;
        this.valuesAsDisplayData = valuesAsDisplayData;
    }

    /** The execute_result, or for IRkernel-like kernels the last display_data; null when there is none. */
    private DisplayOutput result() {
        DisplayOutput last = null;
        for (DisplayOutput output : execution.outputs()) {
            if ("execute_result".equals(output.type())) {
                return output;
            }
            last = output;
        }
        return valuesAsDisplayData ? last : null;
    }

    public ExecutionStatus status() {
        return switch (execution.status()) {
            case OK -> ExecutionStatus.OK;
            case ERROR -> ExecutionStatus.ERROR;
            case ABORTED -> ExecutionStatus.ABORTED;
        };
    }

    /** Everything the code wrote to stdout, in order. */
    public String stdout() {
        return execution.stdout();
    }

    /** Everything the code wrote to stderr, in order. */
    public String stderr() {
        return execution.stderr();
    }

    /**
     * The text/plain of the code's result (the value of its last expression), or {@code null} when
     * it had none. For R, whose kernel shows values as display data, the last value shown.
     */
    public String text() {
        DisplayOutput result = result();
        return result == null ? null : result.text("text/plain");
    }

    /** The result's mime bundle (mime type → text), empty when the code had no result. */
    public Map<String, String> data() {
        DisplayOutput result = result();
        if (result == null) {
            return Map.of();
        }
        Map<String, String> bundle = new LinkedHashMap<>();
        result.data().keySet().stream().sorted().forEach(mime -> bundle.put(mime, result.text(mime)));
        return bundle;
    }

    /** Every rich output (execute_result and display_data), in order, after clear_output and updates. */
    public List<DisplayOutput> outputs() {
        return execution.outputs();
    }

    /** The error the code raised, or {@code null} when it raised none. {@code toString()} gives {@code ename: evalue}. */
    public ExecutionError error() {
        return execution.error();
    }

    /** The kernel's execution counter for this job. */
    public int executionCount() {
        return execution.executionCount();
    }

    /** The 0-based index of the instance that ran the job. */
    public int instance() {
        return instance;
    }

    public String kernelId() {
        return kernelId;
    }

    /** From submission until the job was sent to its kernel. */
    public Duration queueWait() {
        return queueWait;
    }

    /** The kernel's time on the job, from busy to complete. */
    public Duration runTime() {
        return execution.runTime();
    }

    /**
     * Whether output was dropped to stay within the job's output limit
     * ({@link PoolOptions#maxOutputBytes()}): the head and the tail are kept, with a line
     * {@code [carpo: N bytes of output dropped]} in stdout or stderr where the middle was.
     */
    public boolean truncated() {
        return execution.truncated();
    }

    /** How many bytes of output were dropped (0 unless {@link #truncated()}). */
    public long droppedBytes() {
        return execution.droppedBytes();
    }

    /** The kernel-level record, with the raw execute_reply. */
    public KernelExecution execution() {
        return execution;
    }

    @Override
    public String toString() {
        return "ExecutionResult[" + status() + " on instance " + instance + (error() != null ? ", " + error() : "")
                + (text() != null ? ", " + text() : "")
                + (truncated() ? ", truncated (" + droppedBytes() + " bytes dropped)" : "") + "]";
    }
}

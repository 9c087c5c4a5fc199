package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The outcome of one execute request on one kernel, complete: the kernel's execute_reply has
 * arrived and iopub has reported the kernel idle for this request, so no output is missing.
 *
 * <p>Example:
 * <pre>{@code
 * KernelExecution r = kernel.execute("print('hi'); 6 * 7", Duration.ofSeconds(10));
 * r.stdout();   // "hi\n"
 * r.text();     // "42"
 * }</pre>
 *
 * @param msgId the request's msg_id
 * @param status ok, error or aborted
 * @param executionCount the kernel's execution counter for this request, or -1 when unknown
 * @param stdout everything written to stdout, in order
 * @param stderr everything written to stderr, in order
 * @param outputs execute_result and display_data outputs, in order, after clear_output and updates
 * @param error the error, or {@code null} when none
 * @param reply the execute_reply content (user_expressions, payload, …)
 * @param sent when the request was sent
 * @param started when the kernel reported it busy with this request (or {@code sent} if it never did)
 * @param finished when the execution was complete
 * @param truncated output was dropped to stay within {@link ExecuteRequest#maxOutputBytes()} (the head
 *        and the tail are kept, with a marker line where the middle was), or a message for it was refused
 * @param droppedBytes how much output was dropped (a lower bound when a message was refused unread)
 */
public record KernelExecution(
        String msgId,
        ReplyStatus status,
        int executionCount,
        String stdout,
        String stderr,
        List<DisplayOutput> outputs,
        ExecutionError error,
        ObjectNode reply,
        Instant sent,
        Instant started,
        Instant finished,
        boolean truncated,
        long droppedBytes) {

    public KernelExecution {
        outputs = List.copyOf(outputs);
    }

    /** The text/plain of the execute_result, or {@code null} when the code produced no result. */
    public String text() {
        for (DisplayOutput output : outputs) {
            if ("execute_result".equals(output.type())) {
                return output.text("text/plain");
            }
        }
        return null;
    }

    /** Time the kernel spent on this request, from busy to complete. */
    public Duration runTime() {
        return Duration.between(started, finished);
    }
}

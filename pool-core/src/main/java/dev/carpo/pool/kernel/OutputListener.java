package dev.carpo.pool.kernel;

/**
 * Receives an execution's outputs as they arrive, in order, on a callback thread (never the I/O
 * thread). The final {@link KernelExecution} still has everything.
 *
 * <p>Example: {@code .listener(new OutputListener() { public void onStream(String n, String t) { System.out.print(t); } })}
 */
public interface OutputListener {
    /**
     * The kernel has begun running the code: its {@code execute_input} arrived. Kernels that publish
     * none (and silent requests) never call this.
     */
    default void onStarted(int executionCount) {
    }

    /** Text on {@code stdout} or {@code stderr}. */
    default void onStream(String name, String text) {
    }

    /** A new or updated rich output. */
    default void onOutput(DisplayOutput output) {
    }

    /** An error raised by the code. */
    default void onError(ExecutionError error) {
    }

    /**
     * The output went past its limit ({@link ExecuteRequest#maxOutputBytes()}): called once as the
     * execution ends, after the head was streamed and before the kept tail is replayed through
     * {@link #onStream} and {@link #onOutput}, so a listener sees exactly what the result keeps.
     */
    default void onTruncated(long droppedBytes) {
    }

    /**
     * A message meant for this execution was too large to receive and was refused unread: its output
     * cannot be complete. The execution still ends when the kernel's reply comes.
     */
    default void onRefused(OutputLimitException refused) {
    }
}

package dev.carpo.pool.kernel;

/**
 * Answers {@code input()} calls in the kernel. Runs off the I/O thread, in order with the
 * execution's other events; it may block for as long as the execution's timeout allows.
 *
 * <p>Example: {@code ExecuteRequest.builder("name = input('who? ')").input((prompt, password) -> "Ada").build()}
 */
@FunctionalInterface
public interface InputHandler {
    /** The text to return from {@code input(prompt)}. */
    String answer(String prompt, boolean password);
}

package dev.carpo.pool.kernel;

import java.util.List;

/**
 * An error raised by user code in the kernel.
 *
 * <p>Example: {@code if (r.error() != null) log.warn("{}", r.error());} prints {@code ZeroDivisionError: division by zero}.
 *
 * @param ename the exception's name, such as {@code ZeroDivisionError}
 * @param evalue its message
 * @param traceback the kernel's formatted traceback lines (may hold ANSI colour codes)
 */
public record ExecutionError(String ename, String evalue, List<String> traceback) {
    public ExecutionError {
        traceback = traceback == null ? List.of() : List.copyOf(traceback);
    }

    @Override
    public String toString() {
        return ename + ": " + evalue;
    }
}

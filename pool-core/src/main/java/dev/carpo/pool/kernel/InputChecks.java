package dev.carpo.pool.kernel;

import java.time.Duration;
import java.util.Map;

/**
 * Checks on what callers give, shared by the kernel and pool APIs, so bad input is refused where
 * it is given, with a message naming it, rather than failing later inside the machinery (an
 * {@code ArithmeticException} from a timer, a kernel that crashes on what it was sent).
 */
public final class InputChecks {
    /**
     * The longest duration any option or wait takes: 1,000,000 s (about 11.6 days). Longer ones,
     * up to {@link java.time.temporal.ChronoUnit#FOREVER}, mean "no limit" and are clamped to it,
     * which keeps every sum and conversion to nanoseconds far from overflow.
     */
    public static final Duration MAX_DURATION = Duration.ofSeconds(1_000_000);

    private InputChecks() {
    }

    /** {@code d}, or {@link #MAX_DURATION} if it is longer; {@code null} stays {@code null}. */
    public static Duration clamp(Duration d) {
        return d == null || d.compareTo(MAX_DURATION) <= 0 ? d : MAX_DURATION;
    }

    /** {@code d} in milliseconds, at least 0, with no overflow whatever its size. */
    public static long saturatedMillis(Duration d) {
        if (d.isNegative()) {
            return 0;
        }
        try {
            return d.toMillis();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Refuses code that cannot be sent as UTF-8: a lone surrogate has no UTF-8 form, and a kernel
     * sent one (ipykernel) crashes, so the job would hang to its timeout and cost a kernel.
     *
     * @param what how the message names the code, such as {@code "code"} or {@code "PoolOptions.init[0]"}
     * @throws IllegalArgumentException naming the surrogate, its index, line and column
     */
    public static String checkCode(String code, String what) {
        if (code == null) {
            throw new IllegalArgumentException(what + " is null");
        }
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < code.length(); i++) {
            char c = code.charAt(i);
            if (c == '\n') {
                line++;
                lineStart = i + 1;
            } else if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < code.length() && Character.isLowSurrogate(code.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw new IllegalArgumentException(String.format("%s has an unpaired surrogate U+%04X at index %d (line %d, column %d);"
                        + " it cannot be sent as UTF-8", what, (int) c, i, line, i - lineStart + 1));
            }
        }
        return code;
    }

    /**
     * Refuses an environment variable the OS cannot take: a null or empty name, a name with
     * {@code '='} or NUL, a null value or one with NUL.
     *
     * @param what how the message names the variables, such as {@code "PoolOptions.env"}
     */
    public static void checkEnv(String name, String value, String what) {
        if (name == null) {
            throw new IllegalArgumentException(what + ": a variable name is null" + (value != null ? " (value \"" + value + "\")" : ""));
        }
        if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + ": variable name \"" + name.replace("\0", "\\0")
                    + "\" must be non-empty, without '=' or NUL");
        }
        if (value == null) {
            throw new IllegalArgumentException(what + ": variable '" + name + "' has a null value");
        }
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + ": the value of variable '" + name + "' contains NUL");
        }
    }

    /** {@link #checkEnv} on every entry of a map, which itself must not be null. */
    public static void checkEnv(Map<String, String> vars, String what) {
        if (vars == null) {
            throw new IllegalArgumentException(what + ": the map of variables is null");
        }
        for (Map.Entry<String, String> e : vars.entrySet()) {
            checkEnv(e.getKey(), e.getValue(), what);
        }
    }

    /**
     * Absolute paths, normalized, as an unmodifiable list: a sandbox's {@code readOnly} and {@code writable}.
     *
     * @param what the option, for messages: {@code Sandbox.readOnly}
     * @throws IllegalArgumentException for a null list, a null path or a relative one, naming it
     */
    public static java.util.List<java.nio.file.Path> absolutePaths(java.util.List<java.nio.file.Path> paths, String what) {
        if (paths == null) {
            throw new IllegalArgumentException(what + " is null");
        }
        java.util.List<java.nio.file.Path> out = new java.util.ArrayList<>(paths.size());
        for (java.nio.file.Path p : paths) {
            if (p == null) {
                throw new IllegalArgumentException(what + " has a null path");
            }
            if (!p.isAbsolute()) {
                throw new IllegalArgumentException(what + ": path '" + p + "' is not absolute");
            }
            out.add(p.normalize());
        }
        return java.util.List.copyOf(out);
    }
}

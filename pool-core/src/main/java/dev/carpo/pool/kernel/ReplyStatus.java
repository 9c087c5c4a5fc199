package dev.carpo.pool.kernel;

/** The {@code status} of a kernel's reply to a request. */
public enum ReplyStatus {
    OK, ERROR, ABORTED;

    /** Parses the wire value; an unknown or missing status counts as an error. */
    public static ReplyStatus of(String wire) {
        if (wire == null) {
            return ERROR;
        }
        return switch (wire) {
            case "ok" -> OK;
            case "aborted" -> ABORTED;
            default -> ERROR;
        };
    }
}

package dev.carpo.pool.protocol;

/**
 * A received multipart message that must not be acted on: its signature does not match, or its
 * frames are not a well-formed Jupyter message. The I/O loop drops and counts these.
 */
public final class MessageRejectedException extends Exception {
    /** Why a message was rejected. */
    public enum Reason { BAD_SIGNATURE, MALFORMED }

    private final Reason reason;

    public MessageRejectedException(Reason reason, String detail) {
        super(reason + ": " + detail);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}

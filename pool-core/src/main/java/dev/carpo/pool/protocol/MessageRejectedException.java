package dev.carpo.pool.protocol;

/**
 * A received multipart message that must not be acted on: its signature does not match, or its
 * frames are not a well-formed Jupyter message, or (UNREADABLE) it is well signed and its header
 * names the request it answers, but its body is past what we parse (nesting, number length). The
 * first two are dropped and counted; an UNREADABLE one is reported to the request it answers, whose
 * output is then known to be incomplete.
 */
public final class MessageRejectedException extends Exception {
    /** Why a message was rejected. */
    public enum Reason { BAD_SIGNATURE, MALFORMED, UNREADABLE }

    private final Reason reason;
    private final String msgType;
    private final String parentId;
    private final long bytes;

    public MessageRejectedException(Reason reason, String detail) {
        this(reason, detail, null, null, 0);
    }

    public MessageRejectedException(Reason reason, String detail, String msgType, String parentId, long bytes) {
        super(reason + ": " + detail);
        this.reason = reason;
        this.msgType = msgType;
        this.parentId = parentId;
        this.bytes = bytes;
    }

    /** The message's type, when its header could be read. */
    public String msgType() {
        return msgType;
    }

    /** The msg_id of the request it answers, when its parent header could be read. */
    public String parentId() {
        return parentId;
    }

    /** Its size on the wire. */
    public long bytes() {
        return bytes;
    }

    public Reason reason() {
        return reason;
    }
}

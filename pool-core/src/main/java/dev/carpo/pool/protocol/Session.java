package dev.carpo.pool.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.UUID;

/**
 * A client session: the session id and username stamped on every request header, as
 * jupyter_client's {@code Session}. One per kernel connection.
 *
 * <p>Example: {@code Message req = session.request("kernel_info_request", WireCodec.mapper().createObjectNode());}
 */
public final class Session {
    /** The messaging protocol version carpo implements. */
    public static final String PROTOCOL_VERSION = "5.3";

    private static final DateTimeFormatter ISO_MICROS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSXXX");

    private final String id = UUID.randomUUID().toString();
    private final String username;
    private final java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();

    public Session(String username) {
        this.username = username == null || username.isEmpty() ? "carpo" : username;
    }

    public String id() {
        return id;
    }

    /** A fresh header for a message of the given type. */
    public Header header(String msgType) {
        // The session id and a counter, as jupyter_client numbers its messages: unique, and no SecureRandom draw per message.
        return new Header(id + "_" + sent.getAndIncrement(), id, username,
                ISO_MICROS.format(OffsetDateTime.now(ZoneOffset.UTC)), msgType, PROTOCOL_VERSION);
    }

    /** A new request with no parent. */
    public Message request(String msgType, ObjectNode content) {
        return new Message(null, header(msgType), null, null, content, null);
    }

    /** A message answering {@code parent}, such as an input_reply to an input_request. */
    public Message reply(Message parent, String msgType, ObjectNode content) {
        return new Message(null, header(msgType), parent.header(), null, content, null);
    }
}

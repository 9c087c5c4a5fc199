package dev.carpo.pool.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * A Jupyter message header (protocol v5.3): who sent which message, when, and of what type.
 *
 * <p>Example: {@code Header h = session.header("execute_request"); h.msgId()}.
 *
 * @param msgId unique id of this message, used by replies as their parent
 * @param session id of the sending session
 * @param username user the session runs as
 * @param date ISO 8601 timestamp with a zone
 * @param msgType message type, such as {@code execute_request}
 * @param version messaging protocol version, such as {@code 5.3}
 */
public record Header(String msgId, String session, String username, String date, String msgType, String version) {

    public Header {
        Objects.requireNonNull(msgId, "msgId");
        Objects.requireNonNull(msgType, "msgType");
    }

    /** The header as the JSON object that goes on the wire. */
    public ObjectNode toJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("msg_id", msgId);
        node.put("session", session);
        node.put("username", username);
        node.put("date", date);
        node.put("msg_type", msgType);
        node.put("version", version);
        return node;
    }

    /**
     * Reads a header; an empty object (the parent of an unsolicited message) gives {@code null}.
     *
     * @throws IllegalArgumentException when msg_id or msg_type is missing or not a string
     */
    public static Header fromJson(JsonNode node) {
        if (node == null || node.isNull() || (node.isObject() && node.isEmpty())) {
            return null;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException("header is not a JSON object");
        }
        return new Header(
                required(node, "msg_id"),
                optional(node, "session"),
                optional(node, "username"),
                optional(node, "date"),
                required(node, "msg_type"),
                optional(node, "version"));
    }

    private static String required(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("header field '" + field + "' is missing or not a string");
        }
        return value.asText();
    }

    private static String optional(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}

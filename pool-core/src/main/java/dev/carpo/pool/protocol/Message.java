package dev.carpo.pool.protocol;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Objects;

/**
 * One Jupyter message: routing identities, header, parent header, metadata, content and binary buffers.
 *
 * <p>Example: {@code Message m = session.request("kernel_info_request", mapper.createObjectNode());}
 *
 * @param identities ZeroMQ routing prefix (empty for messages we send on DEALER sockets)
 * @param header this message's header
 * @param parentHeader header of the request this message answers, or {@code null}
 * @param metadata free-form metadata object
 * @param content the message body
 * @param buffers extra binary frames (used by comms and widgets)
 * @param wireBytes the size of its signed frames as received (0 for a message built here): what it
 *        costs against an output limit, known without serializing it again
 */
public record Message(
        List<byte[]> identities,
        Header header,
        Header parentHeader,
        ObjectNode metadata,
        ObjectNode content,
        List<byte[]> buffers,
        long wireBytes) {

    /** A message built here, not received. */
    public Message(List<byte[]> identities, Header header, Header parentHeader, ObjectNode metadata, ObjectNode content,
                   List<byte[]> buffers) {
        this(identities, header, parentHeader, metadata, content, buffers, 0);
    }

    public Message {
        Objects.requireNonNull(header, "header");
        identities = identities == null ? List.of() : List.copyOf(identities);
        buffers = buffers == null ? List.of() : List.copyOf(buffers);
        metadata = metadata == null ? JsonNodeFactory.instance.objectNode() : metadata;
        content = content == null ? JsonNodeFactory.instance.objectNode() : content;
    }

    /** This message's type, from its header. */
    public String type() {
        return header.msgType();
    }

    /** The msg_id of the request this message answers, or {@code null} when it answers none. */
    public String parentId() {
        return parentHeader == null ? null : parentHeader.msgId();
    }
}

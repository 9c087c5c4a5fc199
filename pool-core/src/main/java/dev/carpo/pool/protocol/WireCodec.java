package dev.carpo.pool.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Jupyter wire format: {@code [identities…, "<IDS|MSG>", signature, header, parent_header,
 * metadata, content, buffers…]}, with the signature an HMAC over the four JSON frames exactly as
 * they were received (never re-serialized before checking).
 *
 * <p>Example: {@code List<byte[]> frames = codec.encode(msg); Message back = codec.decode(frames);}
 *
 * <p>Thread-safe.
 */
public final class WireCodec {
    /** The frame that separates routing identities from the signed message. */
    public static final byte[] DELIMITER = "<IDS|MSG>".getBytes(StandardCharsets.US_ASCII);

    /**
     * Nesting a body may have. Jackson's default (1000) dropped real display data; deeper than this
     * is refused as UNREADABLE (never silently), and the walks over a body stay far from the stack's end.
     */
    public static final int MAX_NESTING_DEPTH = 2000;
    /**
     * Jackson's limits set on purpose, not left at defaults that drop a message: a string may be as
     * long as a frame (frames are bounded on the wire, {@code maxMessageBytes}), nesting as above.
     */
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .maxNumberLength(10_000)
                    .maxDocumentLength(-1)
                    .build())
            .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH + 10).build())
            .build());
    private static final byte[] EMPTY_OBJECT = "{}".getBytes(StandardCharsets.US_ASCII);

    private final Signer signer;

    public WireCodec(Signer signer) {
        this.signer = signer;
    }

    /** The shared Jackson mapper for message bodies. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Serializes and signs a message into its frames. */
    public List<byte[]> encode(Message message) {
        byte[] header = json(message.header().toJson());
        byte[] parent = message.parentHeader() == null ? EMPTY_OBJECT : json(message.parentHeader().toJson());
        byte[] metadata = json(message.metadata());
        byte[] content = json(message.content());
        List<byte[]> frames = new ArrayList<>(message.identities().size() + 6 + message.buffers().size());
        frames.addAll(message.identities());
        frames.add(DELIMITER);
        frames.add(signer.sign(header, parent, metadata, content));
        frames.add(header);
        frames.add(parent);
        frames.add(metadata);
        frames.add(content);
        frames.addAll(message.buffers());
        return frames;
    }

    /**
     * Verifies and parses received frames.
     *
     * @throws MessageRejectedException when the signature is wrong or the frames are not a message
     */
    public Message decode(List<byte[]> frames) throws MessageRejectedException {
        int delimiter = -1;
        for (int i = 0; i < frames.size(); i++) {
            if (Arrays.equals(frames.get(i), DELIMITER)) {
                delimiter = i;
                break;
            }
        }
        if (delimiter < 0) {
            throw new MessageRejectedException(MessageRejectedException.Reason.MALFORMED, "no <IDS|MSG> delimiter");
        }
        if (frames.size() < delimiter + 6) {
            throw new MessageRejectedException(MessageRejectedException.Reason.MALFORMED,
                    "expected 5 frames after <IDS|MSG>, got " + (frames.size() - delimiter - 1));
        }
        byte[] signature = frames.get(delimiter + 1);
        byte[] header = frames.get(delimiter + 2);
        byte[] parent = frames.get(delimiter + 3);
        byte[] metadata = frames.get(delimiter + 4);
        byte[] content = frames.get(delimiter + 5);
        if (!signer.verify(signature, header, parent, metadata, content)) {
            throw new MessageRejectedException(MessageRejectedException.Reason.BAD_SIGNATURE,
                    "HMAC-SHA256 signature does not match");
        }
        long wireBytes = 0;
        for (int i = delimiter + 1; i < frames.size(); i++) {
            wireBytes += frames.get(i).length;
        }
        Header h;
        Header p;
        try {
            h = Header.fromJson(MAPPER.readTree(header));
            if (h == null) {
                throw new MessageRejectedException(MessageRejectedException.Reason.MALFORMED, "empty header");
            }
            p = Header.fromJson(MAPPER.readTree(parent));
        } catch (IOException | IllegalArgumentException e) {
            throw new MessageRejectedException(MessageRejectedException.Reason.MALFORMED, e.getMessage());
        }
        try {
            return new Message(
                    frames.subList(0, delimiter),
                    h,
                    p,
                    object(metadata, "metadata"),
                    object(content, "content"),
                    frames.subList(delimiter + 6, frames.size()),
                    wireBytes);
        } catch (IOException | IllegalArgumentException e) {
            // Signed and addressed, so the request it answers can be told its output is incomplete.
            throw new MessageRejectedException(MessageRejectedException.Reason.UNREADABLE,
                    "a " + h.msgType() + " of " + wireBytes + " bytes could not be read: " + firstLine(e.getMessage()),
                    h.msgType(), p == null ? null : p.msgId(), wireBytes);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static ObjectNode object(byte[] bytes, String frame) throws IOException {
        JsonNode node = MAPPER.readTree(bytes);
        if (node == null || node.isNull()) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(frame + " frame is not a JSON object");
        }
        return (ObjectNode) node;
    }

    private static byte[] json(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize message frame", e);
        }
    }
}

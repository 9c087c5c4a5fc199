package dev.carpo.pool.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Kernel messages as a Jupyter Server carries them over {@code /api/kernels/{id}/channels}: the
 * {@code v1.kernel.websocket.jupyter.org} binary framing when the server selected that subprotocol,
 * else the legacy JSON text with a {@code channel} field. The server signs and checks signatures
 * towards the kernel; nothing is signed on this leg.
 *
 * <p>v1 frame: a little-endian uint64 count {@code n} of offsets, then {@code n} uint64 offsets, then
 * the channel name and the parts {@code header, parent_header, metadata, content, buffers…}; offset
 * {@code i} is where part {@code i} starts and the last offset is the end.
 *
 * <p>Example: {@code ByteBuffer frame = WebSocketCodec.encodeV1(Channel.SHELL, request);}
 */
public final class WebSocketCodec {
    /** The subprotocol carpo asks for. */
    public static final String V1_PROTOCOL = "v1.kernel.websocket.jupyter.org";

    private static final byte[] EMPTY_OBJECT = "{}".getBytes(StandardCharsets.US_ASCII);

    private WebSocketCodec() {
    }

    /** A message received on the WebSocket: its channel and the message. */
    public record Received(Channel channel, Message message) {
    }

    /** Encodes a message in the v1 binary framing. */
    public static ByteBuffer encodeV1(Channel channel, Message message) {
        List<byte[]> parts = new ArrayList<>(5 + message.buffers().size());
        parts.add(channel.wireName().getBytes(StandardCharsets.UTF_8));
        parts.add(json(message.header().toJson()));
        parts.add(message.parentHeader() == null ? EMPTY_OBJECT : json(message.parentHeader().toJson()));
        parts.add(json(message.metadata()));
        parts.add(json(message.content()));
        parts.addAll(message.buffers());
        int offsets = parts.size() + 1;
        long start = 8L * (1 + offsets);
        long total = start;
        for (byte[] part : parts) {
            total += part.length;
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(total)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(offsets);
        long at = start;
        out.putLong(at);
        for (byte[] part : parts) {
            at += part.length;
            out.putLong(at);
        }
        parts.forEach(out::put);
        // Back to big-endian: the JDK's WebSocket masks a frame 8 bytes at a time through the buffer's
        // own byte order, and a little-endian buffer reaches the server with every word reversed.
        return out.flip().order(ByteOrder.BIG_ENDIAN);
    }

    /**
     * Decodes a v1 binary frame.
     *
     * @throws MessageRejectedException when the offsets do not fit the frame, or the parts are not a message
     */
    public static Received decodeV1(ByteBuffer frame) throws MessageRejectedException {
        ByteBuffer in = frame.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int size = in.remaining();
        int base = in.position();
        if (size < 8) {
            throw malformed("v1 frame of " + size + " bytes has no offset count");
        }
        long n = in.getLong(base);
        if (n < 6 || 8 * (n + 1) > size) {
            throw malformed("v1 frame declares " + n + " offsets in " + size + " bytes (a message needs at least 6)");
        }
        long[] offsets = new long[(int) n];
        for (int i = 0; i < n; i++) {
            offsets[i] = in.getLong(base + 8 * (i + 1));
            if (offsets[i] < 8 * (n + 1) || offsets[i] > size || (i > 0 && offsets[i] < offsets[i - 1])) {
                throw malformed("v1 frame offset " + i + " (" + offsets[i] + ") is out of order or outside its " + size + " bytes");
            }
        }
        List<byte[]> parts = new ArrayList<>((int) n - 1);
        for (int i = 0; i + 1 < n; i++) {
            byte[] part = new byte[(int) (offsets[i + 1] - offsets[i])];
            in.get(base + (int) offsets[i], part);
            parts.add(part);
        }
        Channel channel = channel(new String(parts.get(0), StandardCharsets.UTF_8));
        Header header;
        Header parent;
        try {
            header = Header.fromJson(WireCodec.mapper().readTree(parts.get(1)));
            if (header == null) {
                throw malformed("empty header");
            }
            parent = Header.fromJson(WireCodec.mapper().readTree(parts.get(2)));
        } catch (IOException | IllegalArgumentException e) {
            throw malformed(e.getMessage());
        }
        try {
            return new Received(channel, new Message(null, header, parent,
                    object(WireCodec.mapper().readTree(parts.get(3)), "metadata"),
                    object(WireCodec.mapper().readTree(parts.get(4)), "content"),
                    parts.subList(5, parts.size()), size));
        } catch (IOException | IllegalArgumentException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new MessageRejectedException(MessageRejectedException.Reason.UNREADABLE,
                    "a " + header.msgType() + " of " + size + " bytes could not be read: " + why,
                    header.msgType(), parent == null ? null : parent.msgId(), size);
        }
    }

    /** Encodes a message as the legacy JSON text (binary buffers are not carried this way). */
    public static String encodeJson(Channel channel, Message message) {
        ObjectNode root = WireCodec.mapper().createObjectNode();
        root.put("channel", channel.wireName());
        root.set("header", message.header().toJson());
        root.set("parent_header", message.parentHeader() == null ? WireCodec.mapper().createObjectNode() : message.parentHeader().toJson());
        root.set("metadata", message.metadata());
        root.set("content", message.content());
        root.putArray("buffers");
        try {
            return WireCodec.mapper().writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize message", e);
        }
    }

    /**
     * Decodes a legacy JSON text message.
     *
     * @throws MessageRejectedException when it is not JSON, or lacks a channel or a header
     */
    public static Received decodeJson(String text) throws MessageRejectedException {
        try {
            JsonNode root = WireCodec.mapper().readTree(text);
            if (root == null || !root.isObject()) {
                throw malformed("WebSocket text is not a JSON object");
            }
            Header header = Header.fromJson(root.get("header"));
            if (header == null) {
                throw malformed("message without a header");
            }
            return new Received(channel(root.path("channel").asText("")), new Message(null, header,
                    Header.fromJson(root.get("parent_header")), object(root.get("metadata"), "metadata"),
                    object(root.get("content"), "content"), null, text.length()));
        } catch (IOException | IllegalArgumentException e) {
            throw malformed(e.getMessage());
        }
    }

    private static Channel channel(String name) throws MessageRejectedException {
        for (Channel c : Channel.values()) {
            if (c.wireName().equals(name.toLowerCase(Locale.ROOT))) {
                return c;
            }
        }
        throw malformed("unknown channel '" + name + "'");
    }

    private static ObjectNode object(JsonNode node, String part) {
        if (node == null || node.isNull()) {
            return WireCodec.mapper().createObjectNode();
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(part + " is not a JSON object");
        }
        return (ObjectNode) node;
    }

    private static byte[] json(JsonNode node) {
        try {
            return WireCodec.mapper().writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize message part", e);
        }
    }

    private static MessageRejectedException malformed(String why) {
        return new MessageRejectedException(MessageRejectedException.Reason.MALFORMED, why);
    }
}

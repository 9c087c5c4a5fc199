package dev.carpo.pool.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class WebSocketCodecTest {
    /** jupyter_server 1.23's serialize_msg_to_ws_v1 of an iopub stream message (content {"name": "stdout", "text": "héllo\\n"}). */
    private static final String SERVER_FRAME = "060000000000000038000000000000003d00000000000000bd00000000000000460100000000000048010000000000006e01000000000000696f7075627b226d73675f6964223a20226d31222c202273657373696f6e223a202273222c2022757365726e616d65223a202275222c202264617465223a2022323032362d31312d33305430303a30303a30302e3030303030305a222c20226d73675f74797065223a202273747265616d222c202276657273696f6e223a2022352e33227d7b226d73675f6964223a20227031222c202273657373696f6e223a202273222c2022757365726e616d65223a202275222c202264617465223a2022323032362d31312d33305430303a30303a30302e3030303030305a222c20226d73675f74797065223a2022657865637574655f72657175657374222c202276657273696f6e223a2022352e33227d7b7d7b226e616d65223a20227374646f7574222c202274657874223a202268c3a96c6c6f5c6e227d";

    @Test
    void decodesAFrameAsJupyterServerWritesIt() throws Exception {
        WebSocketCodec.Received r = WebSocketCodec.decodeV1(ByteBuffer.wrap(HexFormat.of().parseHex(SERVER_FRAME)));
        assertThat(r.channel()).isEqualTo(Channel.IOPUB);
        assertThat(r.message().type()).isEqualTo("stream");
        assertThat(r.message().parentId()).isEqualTo("p1");
        assertThat(r.message().content().path("text").asText()).isEqualTo("héllo\n");
    }

    @Test
    void v1RoundTripKeepsChannelPartsAndBuffers() throws Exception {
        Session session = new Session("u");
        ObjectNode content = WireCodec.mapper().createObjectNode().put("code", "print('é')");
        Message request = new Message(null, session.header("execute_request"), null, null, content,
                java.util.List.of(new byte[] {1, 2, 3}));
        ByteBuffer frame = WebSocketCodec.encodeV1(Channel.SHELL, request);
        // Big-endian on the way out: the JDK's WebSocket masks through the buffer's byte order.
        assertThat(frame.order()).isEqualTo(ByteOrder.BIG_ENDIAN);
        assertThat(frame.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(0)).isEqualTo(7); // channel, 4 parts, 1 buffer: 7 offsets
        WebSocketCodec.Received back = WebSocketCodec.decodeV1(frame);
        assertThat(back.channel()).isEqualTo(Channel.SHELL);
        assertThat(back.message().header()).isEqualTo(request.header());
        assertThat(back.message().parentHeader()).isNull();
        assertThat(back.message().content()).isEqualTo(content);
        assertThat(back.message().buffers()).hasSize(1);
        assertThat(back.message().buffers().get(0)).containsExactly(1, 2, 3);
    }

    @Test
    void jsonRoundTripCarriesTheChannel() throws Exception {
        Session session = new Session("u");
        Message request = session.request("kernel_info_request", WireCodec.mapper().createObjectNode());
        String text = WebSocketCodec.encodeJson(Channel.CONTROL, request);
        assertThat(WireCodec.mapper().readTree(text).path("channel").asText()).isEqualTo("control");
        WebSocketCodec.Received back = WebSocketCodec.decodeJson(text);
        assertThat(back.channel()).isEqualTo(Channel.CONTROL);
        assertThat(back.message().header()).isEqualTo(request.header());
    }

    @Test
    void malformedFramesAreRejectedNotTrusted() {
        assertThatThrownBy(() -> WebSocketCodec.decodeV1(ByteBuffer.wrap(new byte[4])))
                .isInstanceOf(MessageRejectedException.class).hasMessageContaining("no offset count");
        byte[] huge = HexFormat.of().parseHex(SERVER_FRAME);
        huge[0] = (byte) 0xff; // 255 offsets in a frame far too short for them
        assertThatThrownBy(() -> WebSocketCodec.decodeV1(ByteBuffer.wrap(huge)))
                .isInstanceOf(MessageRejectedException.class).hasMessageContaining("declares 255 offsets");
        byte[] backwards = HexFormat.of().parseHex(SERVER_FRAME);
        backwards[17] = 0x7f; // the second offset far beyond the end
        assertThatThrownBy(() -> WebSocketCodec.decodeV1(ByteBuffer.wrap(backwards)))
                .isInstanceOf(MessageRejectedException.class).hasMessageContaining("offset 1");
        assertThatThrownBy(() -> WebSocketCodec.decodeJson("{\"channel\": \"shell\"}"))
                .isInstanceOf(MessageRejectedException.class).hasMessageContaining("without a header");
        assertThatThrownBy(() -> WebSocketCodec.decodeJson("{\"channel\": \"nope\", \"header\": {\"msg_id\": \"1\", \"msg_type\": \"x\"}}"))
                .isInstanceOf(MessageRejectedException.class);
    }
}

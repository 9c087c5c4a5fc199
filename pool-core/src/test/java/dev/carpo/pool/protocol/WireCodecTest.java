package dev.carpo.pool.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WireCodecTest {
    private final WireCodec codec = new WireCodec(new Signer("secret".getBytes(StandardCharsets.UTF_8)));
    private final Session session = new Session("ada");

    @Test
    void roundTripKeepsEveryPart() throws Exception {
        ObjectNode content = WireCodec.mapper().createObjectNode().put("code", "print('héllo ✓ 日本')");
        Message parent = session.request("kernel_info_request", null);
        Message sent = new Message(List.of("id-1".getBytes(StandardCharsets.UTF_8)), session.header("execute_request"),
                parent.header(), WireCodec.mapper().createObjectNode().put("m", 1), content,
                List.of(new byte[] {0, 1, 2}, new byte[0]));

        Message back = codec.decode(codec.encode(sent));

        assertThat(back.header()).isEqualTo(sent.header());
        assertThat(back.parentHeader()).isEqualTo(parent.header());
        assertThat(back.parentId()).isEqualTo(parent.header().msgId());
        assertThat(back.metadata()).isEqualTo(sent.metadata());
        assertThat(back.content().get("code").asText()).isEqualTo("print('héllo ✓ 日本')");
        assertThat(back.identities()).containsExactly("id-1".getBytes(StandardCharsets.UTF_8));
        assertThat(back.buffers()).hasSize(2);
        assertThat(back.buffers().get(0)).containsExactly(0, 1, 2);
    }

    @Test
    void framesAreLaidOutAsTheProtocolSays() {
        List<byte[]> frames = codec.encode(session.request("kernel_info_request", null));
        assertThat(frames).hasSize(6);
        assertThat(frames.get(0)).isEqualTo(WireCodec.DELIMITER);
        assertThat(new String(frames.get(1), StandardCharsets.US_ASCII)).matches("[0-9a-f]{64}");
        assertThat(new String(frames.get(3), StandardCharsets.UTF_8)).isEqualTo("{}");
    }

    @Test
    void tamperedContentIsRejectedAsBadSignature() {
        List<byte[]> frames = new ArrayList<>(codec.encode(session.request("execute_request",
                WireCodec.mapper().createObjectNode().put("code", "1"))));
        frames.set(5, "{\"code\":\"2\"}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> codec.decode(frames))
                .isInstanceOf(MessageRejectedException.class)
                .satisfies(e -> assertThat(((MessageRejectedException) e).reason()).isEqualTo(MessageRejectedException.Reason.BAD_SIGNATURE));
    }

    @Test
    void messageSignedWithAnotherKeyIsRejected() {
        WireCodec other = new WireCodec(new Signer("not-the-key".getBytes(StandardCharsets.UTF_8)));
        List<byte[]> frames = other.encode(session.request("execute_reply", null));
        assertThatThrownBy(() -> codec.decode(frames)).hasMessageContaining("BAD_SIGNATURE");
    }

    @Test
    void unsignedMessageIsRejectedWhenAKeyIsSet() {
        WireCodec unsigned = new WireCodec(new Signer(new byte[0]));
        List<byte[]> frames = unsigned.encode(session.request("execute_reply", null));
        assertThatThrownBy(() -> codec.decode(frames)).hasMessageContaining("BAD_SIGNATURE");
    }

    @Test
    void garbledFramesAreRejectedAsMalformed() {
        assertThatThrownBy(() -> codec.decode(List.of("hello".getBytes(StandardCharsets.UTF_8))))
                .hasMessageContaining("MALFORMED").hasMessageContaining("delimiter");
        List<byte[]> shortMessage = codec.encode(session.request("status", null)).subList(0, 4);
        assertThatThrownBy(() -> codec.decode(shortMessage)).hasMessageContaining("MALFORMED");

        // Correctly signed, but the header is not JSON: still never acted on.
        Signer signer = new Signer("secret".getBytes(StandardCharsets.UTF_8));
        byte[][] parts = {"not json".getBytes(StandardCharsets.UTF_8), "{}".getBytes(), "{}".getBytes(), "{}".getBytes()};
        List<byte[]> badJson = List.of(WireCodec.DELIMITER, signer.sign(parts), parts[0], parts[1], parts[2], parts[3]);
        assertThatThrownBy(() -> codec.decode(badJson)).hasMessageContaining("MALFORMED");

        byte[][] noType = {"{\"msg_id\":\"x\"}".getBytes(), "{}".getBytes(), "{}".getBytes(), "{}".getBytes()};
        List<byte[]> missingType = List.of(WireCodec.DELIMITER, signer.sign(noType), noType[0], noType[1], noType[2], noType[3]);
        assertThatThrownBy(() -> codec.decode(missingType)).hasMessageContaining("msg_type");
    }

    @Test
    void decodesAMessageSerializedByJupyterClient() throws Exception {
        // Frames produced by jupyter_client 7.4 Session(key=b'k3y').serialize(...), verbatim.
        List<byte[]> frames = List.of(
                "<IDS|MSG>",
                "323dc38a22e3665ca2b9b609cabec145082fd4b3d4315a1457fdca6c39f898f7",
                "{\"msg_id\": \"sess-1_3722_0\", \"msg_type\": \"execute_request\", \"username\": \"ada\", \"session\": \"sess-1\", \"date\": \"2026-11-25T06:27:19.953742Z\", \"version\": \"5.3\"}",
                "{}", "{}",
                "{\"code\": \"print(\\\"é\\\")\", \"silent\": false}")
                .stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();

        Message m = new WireCodec(new Signer("k3y".getBytes(StandardCharsets.UTF_8))).decode(frames);

        assertThat(m.type()).isEqualTo("execute_request");
        assertThat(m.header().session()).isEqualTo("sess-1");
        assertThat(m.parentHeader()).isNull();
        assertThat(m.content().get("code").asText()).isEqualTo("print(\"é\")");
    }
}

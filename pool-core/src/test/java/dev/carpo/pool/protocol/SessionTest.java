package dev.carpo.pool.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.OffsetDateTime;
import org.junit.jupiter.api.Test;

class SessionTest {
    @Test
    void headersCarryEveryRequiredField() {
        Session session = new Session("ada");
        Header h = session.header("execute_request");
        Header other = session.header("execute_request");

        assertThat(h.msgId()).isNotBlank().isNotEqualTo(other.msgId());
        assertThat(h.session()).isEqualTo(session.id());
        assertThat(h.username()).isEqualTo("ada");
        assertThat(h.msgType()).isEqualTo("execute_request");
        assertThat(h.version()).isEqualTo("5.3");
        assertThat(OffsetDateTime.parse(h.date())).isNotNull();
        assertThat(h.toJson().fieldNames()).toIterable()
                .containsExactlyInAnyOrder("msg_id", "session", "username", "date", "msg_type", "version");
    }

    @Test
    void messageIdsAreUniqueWithinASessionAndAcrossSessions() {
        Session one = new Session("ada");
        Session two = new Session("ada");
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) {
            ids.add(one.header("execute_request").msgId());
            ids.add(two.header("execute_request").msgId());
        }
        assertThat(ids).hasSize(2000);
        assertThat(one.header("x").msgId()).startsWith(one.id() + "_");
    }

    @Test
    void replyCarriesTheRequestAsParent() {
        Session session = new Session("ada");
        Message request = session.request("input_request", null);
        Message reply = session.reply(request, "input_reply", null);
        assertThat(reply.parentId()).isEqualTo(request.header().msgId());
    }
}

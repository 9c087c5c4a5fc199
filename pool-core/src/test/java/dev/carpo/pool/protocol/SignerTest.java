package dev.carpo.pool.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SignerTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void matchesPythonHmacSha256OverTheFourFrames() {
        // /usr/bin/python3: hmac.new(b'secret-key', digestmod=sha256) updated with the same four frames.
        Signer signer = new Signer(b("secret-key"));
        byte[] sig = signer.sign(b("{\"a\":1}"), b("{}"), b("{}"), b("{\"code\":\"1+1\"}"));
        assertThat(new String(sig, StandardCharsets.US_ASCII))
                .isEqualTo("ac38879172351d3dcc909177b26e1caf096c9c02e59dc737cad7a4d9283c3250");
        assertThat(signer.verify(sig, b("{\"a\":1}"), b("{}"), b("{}"), b("{\"code\":\"1+1\"}"))).isTrue();
        assertThat(signer.verify(sig, b("{\"a\":2}"), b("{}"), b("{}"), b("{\"code\":\"1+1\"}"))).isFalse();
        assertThat(signer.verify(new byte[0], b("{\"a\":1}"), b("{}"), b("{}"), b("{\"code\":\"1+1\"}"))).isFalse();
    }

    @Test
    void emptyKeyMeansNoSigning() {
        Signer signer = new Signer(new byte[0]);
        assertThat(signer.enabled()).isFalse();
        assertThat(signer.sign(b("x"))).isEmpty();
    }

    @Test
    void onlyHmacSha256IsAccepted() {
        Signer.requireSupported("hmac-sha256");
        assertThatThrownBy(() -> Signer.requireSupported("hmac-md5"))
                .hasMessageContaining("hmac-md5").hasMessageContaining("hmac-sha256");
    }
}

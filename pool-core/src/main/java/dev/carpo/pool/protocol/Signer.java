package dev.carpo.pool.protocol;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 message signing, as jupyter_client's {@code Session.sign}: the hex digest over the
 * header, parent header, metadata and content frames. An empty key disables signing (the signature
 * frame is then empty), which the protocol allows but carpo never generates.
 *
 * <p>Thread-safe: each call works on its own clone of a prototype {@link Mac}.
 */
public final class Signer {
    /** The only scheme carpo speaks; it is what jupyter_client writes into connection files. */
    public static final String SCHEME = "hmac-sha256";

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private final Mac prototype;

    /**
     * @param key the connection file's {@code key}, as its UTF-8 bytes; empty for no signing
     */
    public Signer(byte[] key) {
        if (key == null || key.length == 0) {
            prototype = null;
            return;
        }
        try {
            prototype = Mac.getInstance("HmacSHA256");
            prototype.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    /** Checks that a connection file's signature_scheme is one we implement. */
    public static void requireSupported(String scheme) {
        if (!SCHEME.equals(scheme)) {
            throw new IllegalArgumentException(
                    "unsupported signature_scheme '" + scheme + "' (carpo supports " + SCHEME + ")");
        }
    }

    /** Whether messages are signed at all. */
    public boolean enabled() {
        return prototype != null;
    }

    /** Lower-case hex HMAC over the given frames, in order; empty when signing is off. */
    public byte[] sign(byte[]... parts) {
        if (prototype == null) {
            return new byte[0];
        }
        Mac mac = newMac();
        for (byte[] part : parts) {
            mac.update(part);
        }
        byte[] digest = mac.doFinal();
        byte[] hex = new byte[digest.length * 2];
        for (int i = 0; i < digest.length; i++) {
            hex[2 * i] = HEX[(digest[i] >> 4) & 0xf];
            hex[2 * i + 1] = HEX[digest[i] & 0xf];
        }
        return hex;
    }

    /** Constant-time check of a received signature against the frames it signs. */
    public boolean verify(byte[] signature, byte[]... parts) {
        if (prototype == null) {
            return true;
        }
        return MessageDigest.isEqual(sign(parts), signature);
    }

    private Mac newMac() {
        try {
            return (Mac) prototype.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("HmacSHA256 Mac cannot be cloned", e);
        }
    }
}

package dev.carpo.pool.kernel;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * An {@link SSLContext} that trusts the certificates of one PEM file and nothing else, as curl's
 * {@code --cacert} does: a gateway with a self-signed certificate is then trusted without touching
 * the JVM-wide trust store.
 */
final class PemTrust {
    /** Far beyond any certificate bundle; a larger file is not one. */
    private static final long MAX_BYTES = 4L * 1024 * 1024;

    private PemTrust() {
    }

    static SSLContext sslContext(Path pemFile) {
        Collection<? extends Certificate> certs = certificates(pemFile);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            int i = 0;
            for (Certificate cert : certs) {
                store.setCertificateEntry("gateway-" + i++, cert);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("could not build a TLS context trusting " + pemFile + ": " + e, e);
        }
    }

    private static Collection<? extends Certificate> certificates(Path pemFile) {
        byte[] pem;
        try {
            if (Files.size(pemFile) > MAX_BYTES) {
                throw new IllegalArgumentException("certificate file " + pemFile + " is larger than " + MAX_BYTES
                        + " bytes; give a PEM file of certificates");
            }
            pem = Files.readAllBytes(pemFile);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("certificate file " + pemFile + " does not exist");
        } catch (IOException e) {
            throw new IllegalArgumentException("certificate file " + pemFile + " cannot be read: " + e, e);
        }
        String text = new String(pem, StandardCharsets.ISO_8859_1);
        if (!text.contains("-----BEGIN CERTIFICATE-----")) {
            // The commonest mix-up: the server's key file given instead of its certificate.
            throw new IllegalArgumentException("certificate file " + pemFile + " holds no certificate (a PEM file with"
                    + " -----BEGIN CERTIFICATE----- blocks)" + (text.contains("PRIVATE KEY-----") ? "; it holds a private key" : ""));
        }
        try {
            return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
        } catch (CertificateException e) {
            throw new IllegalArgumentException("certificate file " + pemFile + " is not a valid PEM certificate: " + e.getMessage(), e);
        }
    }
}

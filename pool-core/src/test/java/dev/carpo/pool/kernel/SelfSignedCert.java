package dev.carpo.pool.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A self-signed certificate and its key, made by {@code openssl} at test time (nothing secret is
 * checked in), and the trust stores and {@link SSLContext}s that trust such certificates, built
 * with the JDK alone.
 */
public record SelfSignedCert(Path certFile, Path keyFile) {
    /** A PKCS12 trust store's password; it guards nothing (certificates are public), the format wants one. */
    public static final String STORE_PASSWORD = "changeit";

    /** Aborts the test when openssl is missing, and fails it instead on CI (which must install it). */
    public static void requireOpenssl() {
        boolean present;
        try {
            Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            present = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            present = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Prerequisites.require(present, "openssl", "openssl");
    }

    /**
     * {@code openssl req -x509} in {@code dir}: a certificate for {@code commonName} listing
     * {@code subjectAltName} (such as {@code IP:127.0.0.1,DNS:localhost}), valid two days.
     */
    public static SelfSignedCert make(Path dir, String commonName, String subjectAltName) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Path log = dir.resolve("openssl.log");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(),
                "-out", cert.toString(), "-days", "2", "-subj", "/CN=" + commonName, "-addext", "subjectAltName=" + subjectAltName)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("openssl req did not finish within 30 s");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("openssl req failed (" + p.exitValue() + "): " + Files.readString(log));
        }
        return new SelfSignedCert(cert, key);
    }

    public X509Certificate certificate() throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(certFile)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    /** An in-memory PKCS12 trust store holding these certificates as trusted entries. */
    public static KeyStore trustStore(List<SelfSignedCert> certs) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        for (int i = 0; i < certs.size(); i++) {
            store.setCertificateEntry("cert-" + i, certs.get(i).certificate());
        }
        return store;
    }

    /** The store written to {@code file}, as {@code -Djavax.net.ssl.trustStore} wants it (password {@link #STORE_PASSWORD}). */
    public static Path write(KeyStore store, Path file) throws IOException, GeneralSecurityException {
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, STORE_PASSWORD.toCharArray());
        }
        return file;
    }

    /** A TLS context trusting exactly what {@code store} holds: the way a program trusts a gateway without JVM-wide properties. */
    public static SSLContext sslContext(KeyStore store) throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }
}

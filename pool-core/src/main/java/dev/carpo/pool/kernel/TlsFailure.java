package dev.carpo.pool.kernel;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import javax.net.ssl.SSLException;

/**
 * Says in words why a TLS handshake with a gateway failed: the JDK's own messages ("PKIX path
 * building failed: …SunCertPathBuilderException…") do not say what to do about them.
 */
final class TlsFailure {
    static final String HOW_TO_TRUST = "trust it with -Djavax.net.ssl.trustStore=FILE.p12"
            + " -Djavax.net.ssl.trustStorePassword=… -Djavax.net.ssl.trustStoreType=PKCS12 (for ./carpo: in CARPO_JAVA_OPTS),"
            + " Gateway.builder(url).trustCertificates(pem) or .sslContext(…) in Java, or ca_cert in Lua";

    private TlsFailure() {
    }

    /** Why, and what to do; {@code what} is the call that failed ({@code GET api/kernelspecs}, {@code WebSocket}). */
    static String explain(SSLException error, URI uri, String what, boolean jvmDefaultContext) {
        String store = jvmDefaultContext ? jvmTrustStore() : "";
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException
                    || String.valueOf(t.getMessage()).startsWith("PKIX path")) {
                return "TLS certificate not trusted (" + rootMessage(error) + ") at " + what + store + "; " + HOW_TO_TRUST;
            }
            if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
                return "TLS certificate is outside its validity period (" + t.getMessage() + ") at " + what
                        + "; the server needs a current one";
            }
            String m = String.valueOf(t.getMessage());
            // The JDK's HostnameChecker, which runs once the chain is trusted: the certificate names other hosts.
            if (m.startsWith("No subject alternative") || m.startsWith("No name matching")) {
                return "TLS certificate does not match the host name " + uri.getHost() + " (" + m + ") at " + what
                        + "; connect by a name the certificate lists (its subjectAltName), or give the server a certificate for "
                        + uri.getHost();
            }
        }
        String m = String.valueOf(error.getMessage());
        if (m.contains("Unsupported or unrecognized SSL message")) {
            return "did not answer in TLS (" + m + ") at " + what + "; if the server speaks plain HTTP, give its http:// URL";
        }
        return "TLS handshake failed (" + rootMessage(error) + ") at " + what + store;
    }

    /**
     * The JVM-wide trust store when a property names one: then it alone is trusted, not the JDK's
     * cacerts, and a wrong path or an empty store shows only as a failed handshake.
     */
    private static String jvmTrustStore() {
        String path = System.getProperty("javax.net.ssl.trustStore");
        if (path == null || path.isBlank() || path.equals("NONE")) {
            return "";
        }
        boolean readable = Files.isReadable(Path.of(path));
        return "; this JVM trusts only trust store " + path + " (-Djavax.net.ssl.trustStore)"
                + (readable ? "" : ", which does not exist or cannot be read");
    }

    /**
     * The JDK's message without the internal class names it embeds ("…: sun.security.provider.certpath.SunCertPathBuilderException: …")
     * and without the alert name the HttpClient puts first on some paths and not on others ("(certificate_unknown) PKIX path…").
     */
    private static String rootMessage(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                return t.getMessage().replaceAll("(?:[a-z_$][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error): ", "")
                        .replaceFirst("^\\([a-z_]+\\) ", "");
            }
        }
        return error.getClass().getSimpleName();
    }
}

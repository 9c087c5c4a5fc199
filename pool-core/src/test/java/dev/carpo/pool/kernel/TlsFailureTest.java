package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The words of a TLS failure, whichever of the JDK's forms the handshake error takes. */
class TlsFailureTest {
    private static final URI URL = URI.create("https://127.0.0.1:8888/");

    /** The JDK's HttpClient reports an untrusted certificate with the alert name first on some paths and not on others. */
    @Test
    void anUntrustedCertificateReadsTheSameWithOrWithoutTheJdksAlertPrefix() {
        String pkix = "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException:"
                + " unable to find valid certification path to requested target";
        String plain = TlsFailure.explain(handshake(pkix), URL, "GET api/kernelspecs", false);
        String prefixed = TlsFailure.explain(handshake("(certificate_unknown) " + pkix), URL, "GET api/kernelspecs", false);

        assertThat(plain).isEqualTo(prefixed).startsWith("TLS certificate not trusted (PKIX path building failed:"
                + " unable to find valid certification path to requested target) at GET api/kernelspecs; trust it with")
                .doesNotContain("sun.security").doesNotContain("certificate_unknown");
    }

    private static SSLHandshakeException handshake(String message) {
        SSLHandshakeException e = new SSLHandshakeException(message);
        e.initCause(new CertificateException(message, new CertPathBuilderException("unable to find valid certification path to requested target")));
        return e;
    }
}

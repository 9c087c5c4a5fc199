package dev.carpo.pool.kernel;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * A Jupyter Server or Jupyter Enterprise Gateway that runs kernels for us over its REST and
 * WebSocket kernel API.
 *
 * <p>Example:
 * <pre>{@code
 * Gateway gw = Gateway.of(URI.create("http://gateway.example:8888"), System.getenv("GATEWAY_TOKEN"));
 * Kernel k = runtime.start(gw.kernelSpec("python3"), KernelOptions.builder().gateway(gw).build()).get(120, SECONDS);
 * }</pre>
 *
 * <p>Over TLS ({@code https://}; the kernels' WebSockets are then {@code wss://}) the server's
 * certificate is checked against the JDK's default trust store, which {@code -Djavax.net.ssl.trustStore=…}
 * replaces for the whole JVM, and the host name in the URL must be one the certificate names. A
 * program that must not change JVM-wide settings gives the gateway its own trust instead:
 * <pre>{@code
 * Gateway gw = Gateway.builder(URI.create("https://gateway.example:8888"))
 *         .token(System.getenv("GATEWAY_TOKEN"))
 *         .trustCertificates(Path.of("gateway-cert.pem"))   // or .sslContext(anSSLContext)
 *         .build();
 * pools.createPool("python", "python3", PoolOptions.builder().size(2).gateway(gw).build());
 * }</pre>
 *
 * @param url the server's base URL ({@code http://host:8888} or {@code https://…}, with any base path)
 * @param token the server's token, sent as {@code Authorization: token …}; {@code null} or empty for none
 * @param connectTimeout how long to wait for a TCP/TLS connection
 * @param requestTimeout how long to wait for an answer to a REST call (a kernel start waits for the
 *        kernel options' startup timeout instead)
 * @param sslContext the TLS context for an {@code https} gateway's REST calls and WebSockets, or
 *        {@code null} for the JDK's default ({@link SSLContext#getDefault()}, which honours the
 *        {@code javax.net.ssl.trustStore} properties); host names are verified either way
 */
public record Gateway(URI url, String token, Duration connectTimeout, Duration requestTimeout, SSLContext sslContext) {

    public Gateway {
        Objects.requireNonNull(url, "gateway url");
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("gateway URL " + url + " must start with http:// or https://");
        }
        if (url.getHost() == null) {
            throw new IllegalArgumentException("gateway URL " + url + " has no host");
        }
        if (sslContext != null && !scheme.equals("https")) {
            // Not silently ignored: someone who set up trust for this gateway expects its traffic to be encrypted.
            throw new IllegalArgumentException("gateway URL " + url + " is plain HTTP, so an SSLContext would not be used;"
                    + " give the https:// URL of the server");
        }
        String path = url.getRawPath() == null ? "" : url.getRawPath();
        url = URI.create(scheme + "://" + url.getRawAuthority() + (path.endsWith("/") ? path : path + "/"));
        token = token == null || token.isBlank() ? null : token.strip();
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        // Longer than InputChecks.MAX_DURATION means "no limit"; clamped so sums of timeouts never overflow.
        connectTimeout = InputChecks.clamp(connectTimeout);
        requestTimeout = InputChecks.clamp(requestTimeout);
    }

    /** A gateway with the JDK's default TLS context. */
    public Gateway(URI url, String token, Duration connectTimeout, Duration requestTimeout) {
        this(url, token, connectTimeout, requestTimeout, null);
    }

    /** A gateway with a 10 s connect timeout, a 30 s request timeout and the JDK's default TLS context. */
    public static Gateway of(URI url, String token) {
        return builder(url).token(token).build();
    }

    /** A builder for a gateway at {@code url}; see the class documentation for an example. */
    public static Builder builder(URI url) {
        return new Builder(url);
    }

    /** This gateway with its own TLS context ({@code null}: the JDK's default). */
    public Gateway withSslContext(SSLContext context) {
        return new Gateway(url, token, connectTimeout, requestTimeout, context);
    }

    /** {@code host:port}, the pools' {@code location} tag. */
    public String location() {
        int port = url.getPort() != -1 ? url.getPort() : url.getScheme().equals("https") ? 443 : 80;
        return url.getHost() + ":" + port;
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return "Gateway[" + url + (token != null ? ", token set" : ", no token") + (sslContext != null ? ", own SSLContext" : "") + "]";
    }

    /** Builds a {@link Gateway}; only the URL is required. */
    public static final class Builder {
        private final URI url;
        private String token;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofSeconds(30);
        private SSLContext sslContext;

        private Builder(URI url) {
            this.url = Objects.requireNonNull(url, "gateway url");
        }

        /** The server's token ({@code null} or empty: none). */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** How long to wait for a TCP/TLS connection (default 10 s). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }

        /** How long to wait for an answer to a REST call (default 30 s). */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = timeout;
            return this;
        }

        /**
         * The TLS context for this gateway only, for example one whose trust managers hold the
         * server's certificate ({@code null}: the JDK's default). Host names are still verified.
         */
        public Builder sslContext(SSLContext context) {
            this.sslContext = context;
            return this;
        }

        /**
         * Trusts exactly the certificates in this PEM file for this gateway (the server's own
         * self-signed certificate, or the CA that issued it), instead of the JDK's trust store.
         *
         * @throws IllegalArgumentException naming the file, when it cannot be read or holds no certificate
         */
        public Builder trustCertificates(Path pemFile) {
            this.sslContext = PemTrust.sslContext(pemFile);
            return this;
        }

        public Gateway build() {
            return new Gateway(url, token, connectTimeout, requestTimeout, sslContext);
        }
    }
}

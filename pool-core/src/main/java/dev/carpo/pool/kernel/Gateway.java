package dev.carpo.pool.kernel;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

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
 * @param url the server's base URL ({@code http://host:8888} or {@code https://…}, with any base path)
 * @param token the server's token, sent as {@code Authorization: token …}; {@code null} or empty for none
 * @param connectTimeout how long to wait for a TCP/TLS connection
 * @param requestTimeout how long to wait for an answer to a REST call (a kernel start waits for the
 *        kernel options' startup timeout instead)
 */
public record Gateway(URI url, String token, Duration connectTimeout, Duration requestTimeout) {

    public Gateway {
        Objects.requireNonNull(url, "gateway url");
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("gateway URL " + url + " must start with http:// or https://");
        }
        if (url.getHost() == null) {
            throw new IllegalArgumentException("gateway URL " + url + " has no host");
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

    /** A gateway with a 10 s connect timeout and a 30 s request timeout. */
    public static Gateway of(URI url, String token) {
        return new Gateway(url, token, Duration.ofSeconds(10), Duration.ofSeconds(30));
    }

    /** {@code host:port}, the pools' {@code location} tag. */
    public String location() {
        int port = url.getPort() != -1 ? url.getPort() : url.getScheme().equals("https") ? 443 : 80;
        return url.getHost() + ":" + port;
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return "Gateway[" + url + (token != null ? ", token set" : ", no token") + "]";
    }
}

package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.WebSocketCodec;
import dev.carpo.pool.protocol.WireCodec;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The kernel API of a Jupyter Server or Enterprise Gateway, on the JDK's {@link HttpClient}: REST
 * under {@code /api/kernelspecs} and {@code /api/kernels}, and each kernel's channels over one
 * WebSocket. Every call has a timeout; every failure is a {@link GatewayException} naming the URL,
 * the call and the status. One client per gateway: its two threads serve every kernel on it.
 *
 * <p>Example:
 * <pre>{@code
 * try (GatewayClient gw = GatewayClient.create(Gateway.of(URI.create("http://127.0.0.1:8888"), token))) {
 *     gw.kernelSpecs().forEach(s -> System.out.println(s.name() + "  " + s.displayName()));
 * }
 * }</pre>
 */
public final class GatewayClient implements AutoCloseable {
    private static final AtomicInteger CLIENTS = new AtomicInteger();

    private final Gateway gateway;
    private final ExecutorService executor;
    private final HttpClient http;

    private GatewayClient(Gateway gateway) {
        this.gateway = gateway;
        int n = CLIENTS.incrementAndGet();
        AtomicInteger threads = new AtomicInteger();
        // Bounded: WebSocket and response callbacks only hand work on, so kernels never add threads.
        this.executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "carpo-gateway-" + n + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        HttpClient.Builder http = HttpClient.newBuilder();
        if (gateway.sslContext() != null) {
            // The JDK's client verifies host names whatever the context (unless a JVM-wide property disables it).
            http.sslContext(gateway.sslContext());
        }
        this.http = http
                .connectTimeout(gateway.connectTimeout())
                // Jupyter servers speak HTTP/1.1 (Tornado); no h2c upgrade dance on every request.
                .version(HttpClient.Version.HTTP_1_1)
                // Never: a redirect would carry the token elsewhere and turn POST api/kernels into a GET.
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(executor)
                .build();
    }

    public static GatewayClient create(Gateway gateway) {
        return new GatewayClient(gateway);
    }

    public Gateway gateway() {
        return gateway;
    }

    /** The kernelspecs the server offers, sorted by name. */
    public List<KernelSpec> kernelSpecs() {
        JsonNode root = call("GET", "api/kernelspecs", null, gateway.requestTimeout()).body();
        List<KernelSpec> specs = new ArrayList<>();
        Map<String, JsonNode> byName = new TreeMap<>();
        root.path("kernelspecs").fields().forEachRemaining(e -> byName.put(e.getKey(), e.getValue()));
        byName.forEach((name, entry) -> {
            try {
                specs.add(KernelSpec.fromServer(entry.path("name").asText(name), entry.get("spec"), gateway.url() + "api/kernelspecs/" + name));
            } catch (KernelSpecException broken) {
                // One malformed spec on the server must not hide the others.
                org.slf4j.LoggerFactory.getLogger(GatewayClient.class).warn("{}", broken.getMessage());
            }
        });
        return specs;
    }

    /**
     * One kernelspec by name.
     *
     * @throws GatewayException naming the specs there are, when the server has none by that name
     */
    public KernelSpec kernelSpec(String name) {
        List<KernelSpec> specs = kernelSpecs();
        return specs.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new GatewayException(
                "gateway " + gateway.url() + " has no kernelspec '" + name + "'; it has: "
                        + (specs.isEmpty() ? "none" : String.join(", ", specs.stream().map(KernelSpec::name).toList())),
                gateway.url().resolve("api/kernelspecs"), 404, null));
    }

    /**
     * Starts a kernel ({@code POST /api/kernels}) and returns its model ({@code id}, {@code name},
     * {@code execution_state}, …). {@code env} is passed as the request's {@code env}: Enterprise
     * Gateway hands {@code KERNEL_*} variables (and those it is configured to allow) to the kernel;
     * a plain Jupyter Server ignores them. {@code path} is the kernel's working directory relative
     * to the server's root, or {@code null}.
     */
    public ObjectNode startKernel(String specName, Map<String, String> env, String path, Duration timeout) {
        ObjectNode body = WireCodec.mapper().createObjectNode();
        body.put("name", specName);
        if (path != null) {
            body.put("path", path);
        }
        ObjectNode vars = body.putObject("env");
        env.forEach(vars::put);
        JsonNode model = call("POST", "api/kernels", body, timeout).body();
        if (!(model instanceof ObjectNode o) || !o.path("id").isTextual()) {
            throw new GatewayException("gateway " + gateway.url() + ": POST api/kernels answered without a kernel id: " + model,
                    gateway.url().resolve("api/kernels"), 201, null);
        }
        return o;
    }

    /** The kernel's model, or empty when the server no longer has it (404). */
    public Optional<ObjectNode> kernel(String id) {
        Response r = call("GET", "api/kernels/" + id, null, gateway.requestTimeout(), 404);
        return r.status() == 404 ? Optional.empty() : Optional.of((ObjectNode) r.body());
    }

    /** As {@link #kernel}, without blocking; failures complete the future with a {@link GatewayException}. */
    public CompletableFuture<Optional<ObjectNode>> kernelAsync(String id) {
        return send("GET", "api/kernels/" + id, null, gateway.requestTimeout(), 404)
                .thenApply(r -> r.status() == 404 ? Optional.empty() : Optional.of((ObjectNode) r.body()));
    }

    /** Every kernel the server runs (also those of other clients). */
    public List<ObjectNode> kernels() {
        List<ObjectNode> out = new ArrayList<>();
        call("GET", "api/kernels", null, gateway.requestTimeout()).body().forEach(k -> out.add((ObjectNode) k));
        return out;
    }

    /** {@code POST /api/kernels/{id}/interrupt}: the server interrupts the way the kernelspec says. */
    public void interrupt(String id) {
        call("POST", "api/kernels/" + id + "/interrupt", WireCodec.mapper().createObjectNode(), gateway.requestTimeout());
    }

    /** {@code POST /api/kernels/{id}/restart}: the same kernel id with a fresh process (its state is gone). */
    public ObjectNode restart(String id, Duration timeout) {
        return (ObjectNode) call("POST", "api/kernels/" + id + "/restart", WireCodec.mapper().createObjectNode(), timeout).body();
    }

    /** {@code DELETE /api/kernels/{id}}; a kernel already gone (404) is not an error. Returns whether it existed. */
    public boolean shutdown(String id, Duration timeout) {
        return call("DELETE", "api/kernels/" + id, null, timeout, 404).status() != 404;
    }

    /**
     * Opens a kernel's channels WebSocket, asking for the {@code v1.kernel.websocket.jupyter.org}
     * subprotocol ({@link WebSocket#getSubprotocol()} says whether the server chose it).
     */
    CompletableFuture<WebSocket> openChannels(String kernelId, String sessionId, WebSocket.Listener listener) {
        URI uri = channelsUri(kernelId, sessionId);
        WebSocket.Builder builder = http.newWebSocketBuilder()
                .connectTimeout(gateway.connectTimeout())
                .subprotocols(WebSocketCodec.V1_PROTOCOL);
        if (gateway.token() != null) {
            builder.header("Authorization", "token " + gateway.token());
        }
        return builder.buildAsync(uri, listener).handle((ws, error) -> {
            if (error == null) {
                return ws;
            }
            throw failure("WebSocket", uri, unwrap(error));
        });
    }

    URI channelsUri(String kernelId, String sessionId) {
        URI base = gateway.url();
        String scheme = base.getScheme().equals("https") ? "wss" : "ws";
        return URI.create(scheme + "://" + base.getRawAuthority() + base.getRawPath() + "api/kernels/" + kernelId
                + "/channels?session_id=" + URLEncoder.encode(sessionId, StandardCharsets.UTF_8));
    }

    // ---- REST ----

    private record Response(int status, JsonNode body) {
    }

    private Response call(String method, String path, JsonNode body, Duration timeout, int... alsoFine) {
        CompletableFuture<Response> f = send(method, path, body, timeout, alsoFine);
        try {
            // The request's own timeout ends it first; this bound only guards against a client that never completes.
            return f.get(timeout.plus(gateway.connectTimeout()).plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new GatewayException("gateway " + gateway.url() + ": " + method + " " + path + ": " + e.getCause(),
                    gateway.url().resolve(path), -1, e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            throw new GatewayException("gateway " + gateway.url() + ": no answer to " + method + " " + path + " within "
                    + timeout.toMillis() + " ms", gateway.url().resolve(path), -1, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GatewayException("interrupted while calling " + method + " " + gateway.url().resolve(path),
                    gateway.url().resolve(path), -1, e);
        }
    }

    private CompletableFuture<Response> send(String method, String path, JsonNode body, Duration timeout, int... alsoFine) {
        URI uri = gateway.url().resolve(path);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json");
        if (gateway.token() != null) {
            request.header("Authorization", "token " + gateway.token());
        }
        if (body != null) {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
        } else {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        }
        // The request timeout bounds the wait for headers; this bounds the whole exchange, body included.
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString())
                .orTimeout(timeout.plus(gateway.connectTimeout()).toMillis(), TimeUnit.MILLISECONDS)
                .handle((response, error) -> {
            if (error != null) {
                throw failure(method + " " + path, uri, unwrap(error));
            }
            int status = response.statusCode();
            for (int ok : alsoFine) {
                if (status == ok) {
                    return new Response(status, null);
                }
            }
            if (status / 100 != 2) {
                throw refused(method, path, uri, status, response.body());
            }
            String text = response.body();
            if (text == null || text.isBlank()) {
                return new Response(status, WireCodec.mapper().createObjectNode());
            }
            try {
                return new Response(status, WireCodec.mapper().readTree(text));
            } catch (IOException e) {
                throw new GatewayException("gateway " + gateway.url() + ": " + method + " " + path + " answered " + status
                        + " with something that is not JSON: " + abbreviate(text), uri, status, e);
            }
        });
    }

    private GatewayException refused(String method, String path, URI uri, int status, String body) {
        String why = switch (status) {
            case 401, 403 -> gateway.token() == null
                    ? "no token was sent and the server wants one; pass the server's token: the pool's token option, or carpo --token"
                    : "the token was refused; pass the server's token: the pool's token option, or carpo --token";
            case 301, 302, 303, 307, 308 -> "redirected, which carpo does not follow; give the URL it redirects to";
            case 404 -> path.startsWith("api/kernels/") ? "no such kernel" : "no such resource (is this a Jupyter Server URL?)";
            default -> status >= 500 ? "server error" : "request refused";
        };
        String detail = serverMessage(body);
        return new GatewayException("gateway " + gateway.url() + ": " + method + " " + path + " returned " + status + " (" + why + ")"
                + (detail.isEmpty() ? "" : ": " + detail), uri, status, null);
    }

    private GatewayException failure(String what, URI uri, Throwable error) {
        String why;
        if (error instanceof HttpConnectTimeoutException) {
            why = "unreachable: no connection within " + gateway.connectTimeout().toMillis() + " ms";
        } else if (error instanceof HttpTimeoutException || error instanceof java.util.concurrent.TimeoutException) {
            why = "gave no answer in time";
        } else if (error instanceof javax.net.ssl.SSLException ssl) {
            String tls = TlsFailure.explain(ssl, uri, what, gateway.sslContext() == null);
            return new GatewayException("gateway " + gateway.url() + ": " + tls, uri, -1, error);
        } else if (error instanceof java.nio.channels.UnresolvedAddressException || error instanceof java.net.UnknownHostException) {
            why = "unreachable: unknown host " + uri.getHost();
        } else if (error instanceof ConnectException c) {
            why = "unreachable: " + (c.getMessage() == null || c.getMessage().isBlank() ? "connection refused" : c.getMessage());
        } else if (error instanceof WebSocketHandshakeException h) {
            int status = h.getResponse().statusCode();
            return new GatewayException("gateway " + gateway.url() + ": " + what + " " + uri + " was refused with " + status
                    + (status == 401 || status == 403 ? " (the token was refused)" : status == 404 ? " (no such kernel)" : ""),
                    uri, status, error);
        } else if (error instanceof GatewayException g) {
            return g;
        } else {
            why = "unreachable: " + error;
        }
        return new GatewayException("gateway " + gateway.url() + " " + why + " (" + what + ")", uri, -1, error);
    }

    /** Jupyter Server puts its reason in a JSON body's {@code message} (or {@code reason}). */
    private static String serverMessage(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        try {
            JsonNode json = WireCodec.mapper().readTree(body);
            String m = json.path("message").asText("");
            return m.isEmpty() ? json.path("reason").asText("") : m;
        } catch (IOException notJson) {
            return abbreviate(body.strip());
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof java.util.concurrent.ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        // The JDK wraps connect failures: ConnectException inside an IOException.
        if (e instanceof IOException && !(e instanceof ConnectException) && !(e instanceof HttpTimeoutException)
                && e.getCause() instanceof ConnectException c) {
            e = c;
        }
        if (e instanceof ConnectException && e.getCause() instanceof java.nio.channels.UnresolvedAddressException u) {
            return u;
        }
        return e;
    }

    @Override
    public void close() {
        executor.shutdown();
    }

    @Override
    public String toString() {
        return "GatewayClient[" + gateway.url() + "]";
    }
}

package dev.carpo.pool.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carpo.pool.ExecuteOptions;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import dev.carpo.pool.kernel.Prerequisites;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our /metrics as a real Prometheus (Debian's) scrapes it, and as promtool lints it. */
class PrometheusScrapeTest {
    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private static final Path PROMTOOL = Path.of("/usr/bin/promtool");

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();

    private static void requireTools() {
        Prerequisites.requireExecutable(PROMETHEUS, "prometheus");
        Prerequisites.requireExecutable(PROMTOOL, "prometheus");
    }

    private HttpResponse<String> get(String url, String accept) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (accept != null) {
            b.header("Accept", accept);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The first sample value of an instant query, or null while Prometheus has none. */
    private Double query(int prometheusPort, String promql) throws Exception {
        HttpResponse<String> r = get("http://127.0.0.1:" + prometheusPort + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8), null);
        if (r.statusCode() != 200) {
            return null;
        }
        JsonNode result = json.readTree(r.body()).path("data").path("result");
        return result.isEmpty() ? null : Double.valueOf(result.get(0).path("value").get(1).asText());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void prometheusScrapesOurEndpointAndAnswersQueries() throws Exception {
        requireTools();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).meterRegistry(registry).build();
             MetricsEndpoint endpoint = MetricsEndpoint.start(registry, 0)) {
            assertThat(endpoint.address().getAddress().isLoopbackAddress()).isTrue();
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).build());
            for (int i = 0; i < 5; i++) {
                py.execute(i + " * 2");
            }
            py.execute("1 / 0");
            try {
                py.execute("import time; time.sleep(20)", ExecuteOptions.builder().timeout(Duration.ofMillis(300)).build());
            } catch (dev.carpo.pool.PoolTimeoutException expected) {
                // counted below
            }

            String metricsUrl = "http://127.0.0.1:" + endpoint.port() + "/metrics";
            HttpResponse<String> text = get(metricsUrl, null);
            assertThat(text.statusCode()).isEqualTo(200);
            assertThat(text.headers().firstValue("Content-Type")).contains(MetricsEndpoint.PROMETHEUS_TEXT);
            assertThat(text.body()).contains("# HELP carpo_executions_total Jobs finished, by outcome")
                    .contains("carpo_executions_total{language=\"python\",location=\"local\",outcome=\"ok\",pool=\"python\"} 5.0")
                    .contains("carpo_queue_wait_seconds_bucket{");
            HttpResponse<String> open = get(metricsUrl, "application/openmetrics-text; version=1.0.0,text/plain;q=0.5");
            assertThat(open.headers().firstValue("Content-Type")).contains(MetricsEndpoint.OPENMETRICS_TEXT);
            assertThat(open.body().strip()).endsWith("# EOF");
            assertThat(get("http://127.0.0.1:" + endpoint.port() + "/other", null).statusCode()).isEqualTo(404);

            // promtool lints the exposition.
            Process promtool = new ProcessBuilder(PROMTOOL.toString(), "check", "metrics").redirectErrorStream(true).start();
            promtool.getOutputStream().write(text.body().getBytes(StandardCharsets.UTF_8));
            promtool.getOutputStream().close();
            String lint = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(promtool.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(promtool.exitValue()).as("promtool check metrics: %s", lint).isZero();

            // A real Prometheus on loopback scrapes us every second.
            int prometheusPort = freePort();
            Path config = dir.resolve("prometheus.yml");
            Files.writeString(config, """
                    global:
                      scrape_interval: 1s
                      evaluation_interval: 1s
                    scrape_configs:
                      - job_name: carpo
                        static_configs:
                          - targets: ['127.0.0.1:%d']
                    """.formatted(endpoint.port()));
            Process prometheus = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + config,
                    "--storage.tsdb.path=" + dir.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + prometheusPort)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
            try {
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                        Double.valueOf(5).equals(query(prometheusPort, "carpo_executions_total{pool=\"python\",outcome=\"ok\"}")));
                assertThat(query(prometheusPort, "carpo_executions_total{pool=\"python\",outcome=\"error\"}")).isEqualTo(1.0);
                assertThat(query(prometheusPort, "carpo_executions_total{pool=\"python\",outcome=\"timeout\"}")).isEqualTo(1.0);
                assertThat(query(prometheusPort, "carpo_kernels{pool=\"python\",state=\"idle\"}")).isEqualTo(1.0);
                Double p95 = query(prometheusPort,
                        "histogram_quantile(0.95, sum by (le) (carpo_queue_wait_seconds_bucket{pool=\"python\"}))");
                assertThat(p95).isNotNull();
                assertThat(p95).isBetween(0.0, 10.0);
                Double up = query(prometheusPort, "up{job=\"carpo\"}");
                assertThat(up).isEqualTo(1.0);
            } finally {
                prometheus.destroy();
                if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }
}

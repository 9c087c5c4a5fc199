import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.metrics.MetricsEndpoint;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A pool's meters served for Prometheus, and one scrape of them. Argument: the port (default 0, a free one). */
public class PrometheusMetrics {
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (KernelPools pools = KernelPools.builder().meterRegistry(registry).build();
             MetricsEndpoint endpoint = MetricsEndpoint.start(registry, port)) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1).build());
            URI metrics = URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics");
            System.out.println("serving: " + metrics);
            for (int i = 0; i < 3; i++) py.execute(i + " * 2");
            py.execute("1 / 0");

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> scrape = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            System.out.println("scrape:  HTTP " + scrape.statusCode() + ", " + scrape.headers().firstValue("Content-Type").orElse("?"));
            String shown = "(# (HELP|TYPE) )?carpo_(executions_total|kernels|kernel_memory_bytes|queue_wait_seconds_count)[ {].*";
            scrape.body().lines()
                    .filter(line -> line.matches(shown))
                    .filter(line -> !line.startsWith("carpo_executions_total") || !line.endsWith(" 0.0"))  // outcomes that happened
                    .forEach(System.out::println);
        }
    }
}

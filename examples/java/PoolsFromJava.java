import dev.carpo.pool.*;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Two pools, Python (ipykernel, the python3 kernelspec) and R (IRkernel, the ir kernelspec:
 * apt-get install r-cran-irkernel), and what a pool does.
 */
public class PoolsFromJava {
    public static void main(String[] args) throws Exception {
        try (KernelPools pools = KernelPools.create()) {
            pools.addListener(e -> System.err.println("  event: " + e));
            LanguagePool py = pools.createPool("python", "python3",          // language key, kernelspec name|dir|kernel.json
                    PoolOptions.builder().min(2).max(4).strategy(Dispatch.LEAST_BUSY).init("import os").build());
            LanguagePool r = pools.createPool("r", "ir", PoolOptions.builder().size(1).build());

            List<CompletableFuture<ExecutionResult>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) futures.add(py.submit("import time; time.sleep(0.1); " + i + " ** 2"));
            for (CompletableFuture<ExecutionResult> f : futures) {
                ExecutionResult res = f.get(60, TimeUnit.SECONDS);
                System.out.println("python: " + res.text() + " on instance " + res.instance());
            }
            System.out.println("r:      " + r.execute("sum(1:10)").text());
            System.out.println("error:  " + py.execute("1 / 0").error());
            try {
                py.execute("time.sleep(10)", ExecuteOptions.builder().timeout(Duration.ofSeconds(1)).build());
            } catch (PoolTimeoutException e) {
                System.out.println("timeout: " + e.getMessage());
            }
            try (KernelLease k = py.lease()) {                              // exclusive and stateful
                k.execute("x = 20");
                System.out.println("lease:  " + k.execute("x + 1").text() + " on instance " + k.instance());
            }
            py.broadcast("GREETING = 'hello from every kernel'");           // every instance, and every future one
            py.scale(3);                                                    // returns with 3 ready instances
            System.out.println("scaled: " + py.execute("GREETING", ExecuteOptions.builder().instance(2).build()).text());
            PoolStats s = py.stats();
            System.out.println("stats:  size=" + s.size() + " idle=" + s.idle() + " busy=" + s.busy() + " ok=" + s.ok()
                    + " errors=" + s.errors() + " timeouts=" + s.timeouts() + " started=" + s.kernelsStarted());
        }
    }
}

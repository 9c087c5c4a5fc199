import dev.carpo.pool.ExecuteOptions;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolOptions;
import java.net.URI;
import java.util.Map;

/**
 * A pool whose kernels run on a Jupyter Server or Enterprise Gateway. Arguments: the server's URL
 * (default http://127.0.0.1:8888), its token (default $JUPYTER_GATEWAY_AUTH_TOKEN) and the
 * kernelspec there (default python3; on Enterprise Gateway on Kubernetes, python_kubernetes, say).
 */
public class GatewayPool {
    public static void main(String[] args) throws Exception {
        URI url = URI.create(args.length > 0 ? args[0] : "http://127.0.0.1:8888");
        String token = args.length > 1 ? args[1] : System.getenv("JUPYTER_GATEWAY_AUTH_TOKEN");
        String spec = args.length > 2 ? args[2] : "python3";     // on Enterprise Gateway on Kubernetes: python_kubernetes, say
        try (KernelPools pools = KernelPools.create()) {
            LanguagePool py = pools.createPool("python", spec,               // a kernelspec name on the gateway
                    PoolOptions.builder().size(2)
                            .gateway(url, token)
                            .env(Map.of("KERNEL_USERNAME", "grader", "KERNEL_NAMESPACE", "autograder"))  // for EG's kernel pods
                            .build());
            System.out.println("pool:    " + py.language() + " on " + py.location() + ", size " + py.stats().size());
            for (int i = 0; i < 2; i++) {
                ExecutionResult res = py.execute("6 * 7", ExecuteOptions.builder().instance(i).build());
                System.out.println("remote:  " + res.text() + " on instance " + res.instance() + ", kernel " + res.kernelId());
            }
            System.out.println("pids:    " + py.stats().instances().stream().map(in -> in.pid()).toList()
                    + " (the server's processes: none here)");
        }   // every remote kernel deleted on the server
    }
}

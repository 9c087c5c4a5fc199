import dev.carpo.pool.KernelLease;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolEvent;
import dev.carpo.pool.PoolOptions;
import java.time.Duration;

/** One tenant per kernel: a fresh-leases pool, where no kernel that served one tenant serves another. */
public class TenantPool {
    public static void main(String[] args) throws Exception {
        PoolOptions tenants = PoolOptions.builder().size(2)
                .freshLeases(true)                               // a used kernel is discarded, a new one started
                .maxLifetime(Duration.ofMinutes(30))             // recycle kernels older than this, once idle
                .maxExecutions(500)                              // ... or after this many jobs
                .leakDetectionThreshold(Duration.ofMinutes(10))  // report leases held longer, with their stack
                .build();
        try (KernelPools pools = KernelPools.create()) {
            LanguagePool py = pools.createPool("python", "python3", tenants);
            String alicesKernel;
            try (KernelLease alice = py.lease()) {
                alice.execute("secret = 'alice'");
                System.out.println("alice:   " + alice.execute("secret").text() + " on instance " + alice.instance());
                alicesKernel = alice.kernelId();
            }
            try (KernelLease bob = py.lease()) {
                System.out.println("bob:     " + bob.execute("secret").error().ename() + " on instance " + bob.instance()
                        + ", a kernel of its own: " + !bob.kernelId().equals(alicesKernel));
            }
            System.out.println("job:     " + py.execute("'secret' in globals()").text() + " (a job is a lease of one job)");
            System.out.println("retired: lease_end " + py.stats().reason(PoolEvent.Reason.LEASE_END));
        }
    }
}

package dev.carpo.pool;

import java.nio.file.Path;

/** A child JVM for the JVM-exit tests: creates a pool (local, or on the gateway given as URL and token), prints its kernels, exits without closing anything. */
public final class PoolExitMain {
    private PoolExitMain() {
    }

    public static void main(String[] args) {
        KernelPools pools = KernelPools.builder().runtimeDir(Path.of(args[0])).build();
        PoolOptions.Builder options = PoolOptions.builder().size(2);
        if (args.length > 2) {
            options.gateway(java.net.URI.create(args[1]), args[2]); // the kernels live on this Jupyter Server
        }
        LanguagePool py = pools.createPool("python", "python3", options.build());
        py.submit("import time; time.sleep(60)"); // still running at exit
        for (PoolStats.Instance i : py.stats().instances()) {
            System.out.println("KERNEL PID " + i.pid());
            System.out.println("KERNEL ID " + i.kernelId());
        }
        System.out.flush();
        System.exit(0);
    }
}

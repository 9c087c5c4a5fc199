package dev.carpo.pool;

import java.nio.file.Path;

/** A child JVM for {@link ShutdownHookTest}: creates a pool, prints its kernel pids, exits without closing anything. */
public final class PoolExitMain {
    private PoolExitMain() {
    }

    public static void main(String[] args) {
        KernelPools pools = KernelPools.builder().runtimeDir(Path.of(args[0])).build();
        LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2).build());
        py.submit("import time; time.sleep(60)"); // still running at exit
        for (PoolStats.Instance i : py.stats().instances()) {
            System.out.println("KERNEL PID " + i.pid());
        }
        System.out.flush();
        System.exit(0);
    }
}

package dev.carpo.pool.kernel;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A child JVM for {@link KernelLifecycleTest}: starts one kernel, prints its pid, waits to be killed. */
public final class OrphanCheckMain {
    private OrphanCheckMain() {
    }

    public static void main(String[] args) throws Exception {
        KernelRuntime runtime = KernelRuntime.create();
        Kernel kernel = runtime.start(TestKernels.python(), TestKernels.options(Path.of(args[0]))).get(90, TimeUnit.SECONDS);
        System.out.println("KERNEL PID " + kernel.pid());
        System.out.flush();
        // Bounded, so a test run that forgets us cannot leave this JVM behind for long.
        new CountDownLatch(1).await(120, TimeUnit.SECONDS);
        runtime.close();
    }
}

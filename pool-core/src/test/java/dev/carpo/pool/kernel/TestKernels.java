package dev.carpo.pool.kernel;

import java.nio.file.Path;
import java.time.Duration;

/** The real kernels tests run against, and options that keep their files in a test's directory. */
final class TestKernels {
    private TestKernels() {
    }

    static KernelSpec python() {
        return KernelSpecs.fromEnvironment().find("python3");
    }

    static KernelOptions options(Path runtimeDir) {
        return KernelOptions.builder().runtimeDir(runtimeDir).startupTimeout(Duration.ofSeconds(90)).build();
    }
}

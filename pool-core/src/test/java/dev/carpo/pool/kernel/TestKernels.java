package dev.carpo.pool.kernel;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** The real kernels tests run against, and options that keep their files in a test's directory. */
public final class TestKernels {
    private TestKernels() {
    }

    static KernelSpec python() {
        return KernelSpecs.fromEnvironment().find("python3");
    }

    /**
     * The installed kernelspec {@code name}; where it is not installed the test is skipped with what
     * to install (in CI, failed: see {@link Prerequisites}). xeus-python is not packaged in Debian 12,
     * so its tests are skipped even in CI.
     */
    public static KernelSpec specOrSkip(String name) {
        try {
            return KernelSpecs.fromEnvironment().find(name);
        } catch (KernelSpecException absent) {
            String debianPackage = Prerequisites.kernelPackage(name);
            if (debianPackage != null) {
                Prerequisites.require(false, "kernelspec '" + name + "'", debianPackage);
            }
            Prerequisites.optional(false, "kernelspec '" + name + "'", "conda install -c conda-forge xeus-python");
            throw absent; // not reached: both throw
        }
    }

    /** Python evaluating to the running ipykernel's id (os.getpid() is 2 in every kernel's PID namespace). */
    static final String KERNEL_ID = "__import__('os').path.basename(__import__('ipykernel.connect').connect.get_connection_file())[7:-5]";

    /**
     * Processes (pids as this JVM sees them) with an argument containing {@code marker}: how a test
     * finds what a kernel started, whose own pids are those of the kernel's PID namespace.
     */
    public static List<Long> pidsWith(String marker) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().arguments().map(a -> Arrays.stream(a).anyMatch(s -> s.contains(marker))).orElse(false))
                .map(ProcessHandle::pid).toList();
    }

    static KernelOptions options(Path runtimeDir) {
        return KernelOptions.builder().runtimeDir(runtimeDir).startupTimeout(Duration.ofSeconds(90)).build();
    }
}

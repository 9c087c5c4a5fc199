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

    /** The installed kernelspec {@code name}; the test is skipped (not failed) where it is not installed. */
    public static KernelSpec specOrSkip(String name) {
        try {
            return KernelSpecs.fromEnvironment().find(name);
        } catch (KernelSpecException absent) {
            org.junit.jupiter.api.Assumptions.abort("kernelspec '" + name + "' is not installed here");
            throw absent; // not reached: abort throws
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

package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * What a test needs from the machine, and what to install when it is missing. On a developer's
 * machine a missing tool skips the test with the Debian package to install; where the environment
 * variable {@code CI} is set (as {@code .ci/run} does) it fails it, since CI must run every test.
 */
public final class Prerequisites {
    /** Marks a skip that CI accepts: the tool is not packaged in Debian 12, so {@code .ci/run} cannot install it. */
    public static final String NOT_IN_DEBIAN = "not packaged in Debian 12";

    private static final Map<String, Boolean> PYTHON_MODULES = new ConcurrentHashMap<>();

    private Prerequisites() {
    }

    /** Skips (or, in CI, fails) the test unless {@code present}: "{@code what} is not installed: apt-get install {@code debianPackage}". */
    public static void require(boolean present, String what, String debianPackage) {
        if (present) {
            return;
        }
        String message = what + " is not installed: apt-get install " + debianPackage;
        if (System.getenv("CI") != null) {
            Assertions.fail(message + " (CI runs every test; .ci/run installs it)");
        }
        Assumptions.abort(message);
    }

    /** As {@link #require}, for what no package gives: "{@code what} is needed: {@code how}" (a writable cgroup: run as root). */
    public static void requireMachine(boolean present, String what, String how) {
        if (present) {
            return;
        }
        String message = what + " is needed: " + how;
        if (System.getenv("CI") != null) {
            Assertions.fail(message + " (CI runs every test)");
        }
        Assumptions.abort(message);
    }

    /** A PID namespace made by bubblewrap: the package, and a kernel that lets this user make namespaces. */
    public static void requireBwrap(boolean works) {
        if (!Files.isExecutable(Path.of("/usr/bin/bwrap"))) {
            require(false, "bubblewrap (/usr/bin/bwrap)", "bubblewrap");
        }
        requireMachine(works, "a working bwrap", "user namespaces allowed (sysctl kernel.unprivileged_userns_clone=1) or root");
    }

    /** Skips the test, even in CI, unless {@code present}: for tools Debian does not package. */
    public static void optional(boolean present, String what, String howToInstall) {
        Assumptions.assumeTrue(present, () -> what + " is not installed (" + NOT_IN_DEBIAN + "): " + howToInstall);
    }

    /** An executable, e.g. {@code /usr/bin/prometheus} from the Debian package {@code debianPackage}. */
    public static void requireExecutable(Path program, String debianPackage) {
        require(Files.isExecutable(program), program.toString(), debianPackage);
    }

    /** A module importable by Debian's {@code /usr/bin/python3}, e.g. {@code jupyter_server}. */
    public static void requirePythonModule(String module, String debianPackage) {
        require(PYTHON_MODULES.computeIfAbsent(module, Prerequisites::importable),
                "the Python module " + module + " (for /usr/bin/python3)", debianPackage);
    }

    /** The Debian package that installs kernelspec {@code name}, for the kernels the tests use. */
    static String kernelPackage(String name) {
        return switch (name) {
            case "python3" -> "python3-ipykernel";
            case "ir" -> "r-cran-irkernel";
            default -> null;
        };
    }

    private static boolean importable(String module) {
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import " + module)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}

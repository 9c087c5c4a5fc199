package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThatNoException;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** A missing tool names the Debian package to install: a skip on a developer's machine, a failure in CI. */
class PrerequisitesTest {
    private static final Class<? extends Throwable> MISSING =
            System.getenv("CI") != null ? AssertionFailedError.class : TestAbortedException.class;

    @Test
    void aMissingProgramNamesItsPackage() {
        assertThatThrownBy(() -> Prerequisites.requireExecutable(Path.of("/nonexistent/prometheus"), "prometheus"))
                .isInstanceOf(MISSING)
                .hasMessageStartingWith("/nonexistent/prometheus is not installed: apt-get install prometheus");
    }

    @Test
    void aMissingPythonModuleNamesItsPackage() {
        assertThatThrownBy(() -> Prerequisites.requirePythonModule("carpo_no_such_module", "python3-carpo-no-such"))
                .isInstanceOf(MISSING)
                .hasMessageStartingWith("the Python module carpo_no_such_module (for /usr/bin/python3) is not installed: "
                        + "apt-get install python3-carpo-no-such");
    }

    @Test
    void presentToolsPass() {
        assertThatNoException().isThrownBy(() -> Prerequisites.requirePythonModule("json", "python3"));
        assertThatNoException().isThrownBy(() -> Prerequisites.requireExecutable(Path.of("/bin/sh"), "dash"));
    }

    @Test
    void aKernelspecTheTestsNeedNamesItsPackage() {
        assertThatThrownBy(() -> TestKernels.specOrSkip("carpo-no-such-kernel"))
                .isInstanceOf(TestAbortedException.class) // not one Debian packages: skipped even in CI
                .hasMessageContaining("not packaged in Debian 12");
    }
}

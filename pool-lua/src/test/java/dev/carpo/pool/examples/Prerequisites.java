package dev.carpo.pool.examples;

import dev.carpo.pool.kernel.KernelSpecException;
import dev.carpo.pool.kernel.KernelSpecs;
import java.util.Map;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * What an example needs that a developer's machine may lack. Missing, the example's test is skipped
 * with what to install; in CI ({@code CI} set, as .ci/run and hosted CI set it) it fails instead, so
 * CI never passes without having run every example.
 */
final class Prerequisites {
    static final String NO_IRKERNEL = "IRkernel is not installed: apt-get install r-cran-irkernel";

    private Prerequisites() {
    }

    /** The {@code ir} kernelspec, found as the examples find it ({@code KernelSpecs.fromEnvironment()}). */
    static void requireIrkernel() {
        String absent = null;
        try {
            KernelSpecs.fromEnvironment().find("ir");
        } catch (KernelSpecException e) {
            absent = e.getMessage();
        }
        require(absent == null, NO_IRKERNEL + " (kernelspec 'ir': " + absent + ")", System.getenv());
    }

    /** Skips the test (fails it in CI) unless {@code present}. */
    static void require(boolean present, String missing, Map<String, String> env) {
        if (present) {
            return;
        }
        if (env.get("CI") != null) {
            Assertions.fail(missing + "; CI must run every example, so this fails here instead of being skipped");
        }
        Assumptions.abort(missing);
    }
}

package dev.carpo.pool.bench;

import dev.carpo.pool.KernelPools;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.kernel.KernelSpecs;
import io.micrometer.core.instrument.MeterRegistry;

/** The real kernels the benchmarks drive: ipykernel ({@code python3}) and xeus-python ({@code xpython}). */
final class BenchKernels {
    /** Each kernelspec benchmarked; both run Python, so every workload is the same code. */
    static final String[] SPECS = {"python3", "xpython"};

    private BenchKernels() {
    }

    static KernelSpec spec(String name) {
        return KernelSpecs.fromEnvironment().find(name);
    }

    static KernelPools pools(MeterRegistry registry) {
        KernelPools.Builder b = KernelPools.builder();
        if (registry != null) {
            b.meterRegistry(registry);
        }
        return b.build();
    }
}

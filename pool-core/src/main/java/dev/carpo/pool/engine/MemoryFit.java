package dev.carpo.pool.engine;

import dev.carpo.pool.PoolOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warns, once per pool, when {@code max} local kernels would not fit in physical memory, at
 * memoryLimit each or {@link PoolOptions#TYPICAL_KERNEL_BYTES}: allowed (kernels often stay small,
 * and a gateway's are elsewhere), but a pool that grows so far swaps or meets the OOM killer.
 */
final class MemoryFit {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryFit.class);

    private final String language;
    private final PoolOptions options;
    private final AtomicBoolean warned = new AtomicBoolean();

    MemoryFit(String language, PoolOptions options) {
        this.language = language;
        this.options = options;
    }

    void warnIfTooLarge(int size) {
        if (options.gateway() != null || warned.get()) {
            return;
        }
        long perKernel = options.memoryLimit() > 0 ? options.memoryLimit() : PoolOptions.TYPICAL_KERNEL_BYTES;
        long physical = physicalMemory();
        if (physical > 0 && (double) size * perKernel > physical && warned.compareAndSet(false, true)) {
            LOG.warn("pool '{}': up to {} kernels at ~{} MiB each ({}) need {} MiB, more than this machine's {} MiB of"
                            + " physical memory; the pool may swap or its kernels be OOM-killed when it grows that far",
                    language, size, perKernel >> 20, options.memoryLimit() > 0 ? "memoryLimit" : "a typical kernel",
                    (long) ((double) size * perKernel) >> 20, physical >> 20);
        }
    }

    /** MemTotal from /proc/meminfo in bytes, or -1 where there is none. */
    private static long physicalMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException unavailable) {
            // Not Linux, or /proc hidden: no check.
        }
        return -1;
    }
}

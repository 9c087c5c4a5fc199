package dev.carpo.pool;

import dev.carpo.pool.kernel.InputChecks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How a pool's local kernels are confined, on bubblewrap ({@code bwrap}, Debian package
 * {@code bubblewrap}): each kernel sees a read-only system ({@code /usr}, {@code /etc}, …), its
 * kernelspec's files and its interpreter, the pool's working directory (writable), a private
 * {@code /tmp}, and nothing else of this machine's files (the caller's home included) unless listed
 * here. It runs in a PID namespace of its own, so everything it starts ends with it, and with
 * {@code network(false)} (the default) in a network namespace of its own, where it can reach nothing,
 * not even this host's loopback.
 *
 * <p>Example:
 * <pre>{@code
 * Sandbox box = Sandbox.builder().network(false)
 *         .readOnly(Path.of("/srv/datasets"))
 *         .writable(Path.of("/srv/results"))
 *         .build();
 * PoolOptions options = PoolOptions.builder().size(2).sandbox(box).freshLeases(true).build();
 * }</pre>
 *
 * @param network whether the kernels may use the network (this host's, and beyond)
 * @param readOnly further paths the kernels may read, at the same place (absolute)
 * @param writable further paths the kernels may read and write, at the same place (absolute)
 */
public record Sandbox(boolean network, List<Path> readOnly, List<Path> writable) {

    public Sandbox {
        readOnly = InputChecks.absolutePaths(readOnly, "Sandbox.readOnly");
        writable = InputChecks.absolutePaths(writable, "Sandbox.writable");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link Sandbox}; defaults: no network, nothing beyond the system and the kernel's own files. */
    public static final class Builder {
        private boolean network;
        private final List<Path> readOnly = new ArrayList<>();
        private final List<Path> writable = new ArrayList<>();

        /** Whether kernels may use the network (default false: their own empty network namespace). */
        public Builder network(boolean allowed) {
            this.network = allowed;
            return this;
        }

        /** Paths kernels may read (absolute; files or directories, which must exist when a kernel starts). */
        public Builder readOnly(Path... paths) {
            readOnly.addAll(java.util.Arrays.asList(paths));
            return this;
        }

        /** Paths kernels may read and write (absolute; files or directories, which must exist when a kernel starts). */
        public Builder writable(Path... paths) {
            writable.addAll(java.util.Arrays.asList(paths));
            return this;
        }

        public Sandbox build() {
            return new Sandbox(network, readOnly, writable);
        }
    }
}

package dev.carpo.pool.kernel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How one local kernel is confined ({@link KernelOptions#sandbox()}), on bubblewrap: a read-only
 * system ({@code /usr}, {@code /etc}, {@code /bin}, {@code /sbin}, {@code /lib*}), its kernelspec's
 * directory, its program's own prefix and its connection file (read-only), a private {@code /tmp}
 * (also its {@code HOME}), {@link #readOnly()} and {@link #writable()} at the same paths, and the
 * kernel's working and scratch directories (writable). It starts from a clean environment: {@code PATH},
 * {@code LANG} and {@code LC_*}, {@code HOME=/tmp}, the spec's and the options' variables, and
 * {@code JPY_PARENT_PID}; nothing else of the caller's environment or home reaches it. It runs without
 * capabilities (even when carpo runs as root) in PID and IPC namespaces of its own, so everything
 * it starts ends with it; without {@link #network()}, in a network namespace of its own too, where
 * it reaches nothing, not even this host's loopback, and its channels are Unix sockets that carpo
 * relays.
 *
 * <p>Example:
 * <pre>{@code
 * KernelSandbox box = KernelSandbox.builder().network(false)
 *         .readOnly(Path.of("/srv/datasets")).writable(Path.of("/srv/results")).build();
 * KernelOptions options = KernelOptions.builder().sandbox(box).scratchDirectory(true).build();
 * }</pre>
 *
 * @param network whether the kernel shares this host's network (its channels are then loopback TCP)
 * @param readOnly further paths the kernel may read, at the same place (absolute; each must exist when it starts)
 * @param writable further paths the kernel may read and write, at the same place (absolute; each must exist)
 */
public record KernelSandbox(boolean network, List<Path> readOnly, List<Path> writable) {

    public KernelSandbox {
        readOnly = InputChecks.absolutePaths(readOnly, "KernelSandbox.readOnly");
        writable = InputChecks.absolutePaths(writable, "KernelSandbox.writable");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link KernelSandbox}; defaults: no network, nothing beyond the system and the kernel's own files. */
    public static final class Builder {
        private boolean network;
        private final List<Path> readOnly = new ArrayList<>();
        private final List<Path> writable = new ArrayList<>();

        public Builder network(boolean allowed) {
            this.network = allowed;
            return this;
        }

        public Builder readOnly(Path... paths) {
            readOnly.addAll(java.util.Arrays.asList(paths));
            return this;
        }

        public Builder writable(Path... paths) {
            writable.addAll(java.util.Arrays.asList(paths));
            return this;
        }

        public KernelSandbox build() {
            return new KernelSandbox(network, readOnly, writable);
        }
    }
}

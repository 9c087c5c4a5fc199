package dev.carpo.pool.kernel;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How to start and watch one kernel.
 *
 * <p>Example: {@code KernelOptions.builder().workingDirectory(Path.of("/srv/jobs")).env("MPLBACKEND", "Agg").build()},
 * or confined: {@code KernelOptions.builder().sandbox(KernelSandbox.builder().build()).scratchDirectory(true).build()}
 *
 * @param workingDirectory the kernel's working directory, or {@code null} for this process's
 * @param env extra variables, applied over the parent environment and the spec's {@code env}
 * @param runtimeDir where the connection file goes, or {@code null} for Jupyter's runtime dir
 * <p>Every duration longer than {@link InputChecks#MAX_DURATION} (about 11.6 days, up to
 * {@code ChronoUnit.FOREVER.getDuration()}) means "no limit" and is clamped to it.
 *
 * @param startupTimeout how long the kernel may take to answer kernel_info with iopub connected
 * @param heartbeatInterval how often the heartbeat channel is pinged once the kernel is ready
 * @param heartbeatTimeout how long without a heartbeat answer before the kernel is declared dead
 * @param shutdownGrace how long a kernel gets to exit after shutdown_request, and again after SIGTERM
 * @param requestTimeout how long a request other than execute (complete, inspect, is_complete,
 *        kernel_info, a message-mode interrupt) waits for its reply
 * @param gateway the Jupyter Server or Enterprise Gateway that runs the kernel, or {@code null} to run
 *        it here as a child process; with a gateway, {@code workingDirectory} is a path on the server
 *        (relative to its root) and {@code env} is passed in the start request
 * @param maxMessageBytes the largest frame the kernel may send; a larger one is refused unread, and the
 *        executions it was meant for end with {@link OutputLimitException}
 * @param memoryLimit resident memory the kernel (with all it started) may use, in bytes, or 0 for none;
 *        local kernels only
 * @param maxProcesses processes and threads the kernel may have at once, or 0 for no cap; local kernels only
 * @param sandbox how the kernel is confined ({@link KernelSandbox}), or {@code null} for no sandbox; for
 *        kernels carpo runs as processes only (refused with a gateway, and by an in-process provisioner)
 * @param scratchDirectory whether the kernel gets a fresh empty directory of its own (mode 0700, created
 *        by carpo under the temp dir, removed with all in it when the kernel goes), named in its
 *        environment as {@code CARPO_SCRATCH} and its working directory unless {@code workingDirectory}
 *        is set; writable in a sandbox. For kernels carpo runs as processes (refused with a gateway;
 *        a kernel served in this JVM has no environment or working directory of its own, and gets none)
 */
public record KernelOptions(
        Path workingDirectory,
        Map<String, String> env,
        Path runtimeDir,
        Duration startupTimeout,
        Duration heartbeatInterval,
        Duration heartbeatTimeout,
        Duration shutdownGrace,
        Duration requestTimeout,
        Gateway gateway,
        long maxMessageBytes,
        long memoryLimit,
        int maxProcesses,
        KernelSandbox sandbox,
        boolean scratchDirectory) {

    /** {@link #maxMessageBytes()} unless set: twice the pools' default output limit, plus 64 KiB of envelope. */
    public static final long DEFAULT_MAX_MESSAGE_BYTES = (2L << 20) + (64 << 10);

    public KernelOptions {
        InputChecks.checkEnv(env, "KernelOptions.env");
        env = Map.copyOf(env);
        startupTimeout = requirePositive(startupTimeout, "startupTimeout");
        heartbeatInterval = requirePositive(heartbeatInterval, "heartbeatInterval");
        heartbeatTimeout = requirePositive(heartbeatTimeout, "heartbeatTimeout");
        shutdownGrace = requirePositive(shutdownGrace, "shutdownGrace");
        requestTimeout = requirePositive(requestTimeout, "requestTimeout");
        if (maxMessageBytes < 1024 || maxMessageBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("KernelOptions.maxMessageBytes must be from 1024 to " + Integer.MAX_VALUE + " bytes, got " + maxMessageBytes);
        }
        if (memoryLimit < 0) {
            throw new IllegalArgumentException("KernelOptions.memoryLimit must be >= 0 bytes (0: no limit), got " + memoryLimit);
        }
        if (maxProcesses < 0) {
            throw new IllegalArgumentException("KernelOptions.maxProcesses must be >= 0 (0: no cap), got " + maxProcesses);
        }
        if (gateway != null && (sandbox != null || scratchDirectory)) {
            // Not silently ignored: the gateway's kernels run on its server, beyond carpo's reach.
            throw new IllegalArgumentException("KernelOptions." + (sandbox != null ? "sandbox" : "scratchDirectory")
                    + " is for kernels carpo runs as local processes; kernels on gateway " + gateway.location()
                    + " run under the server's own isolation");
        }
    }

    /** The defaults: 60 s start-up, heartbeat every 1 s, dead after 10 s of silence, 5 s shutdown grace, 60 s for a reply. */
    public static KernelOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A positive duration, clamped to {@link InputChecks#MAX_DURATION} (longer means "no limit"). */
    private static Duration requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("KernelOptions." + name + " must be a positive duration, got " + d);
        }
        return InputChecks.clamp(d);
    }

    /** Builder for {@link KernelOptions}. */
    public static final class Builder {
        private Path workingDirectory;
        private final Map<String, String> env = new LinkedHashMap<>();
        private Path runtimeDir;
        private Duration startupTimeout = Duration.ofSeconds(60);
        private Duration heartbeatInterval = Duration.ofSeconds(1);
        private Duration heartbeatTimeout = Duration.ofSeconds(10);
        private Duration shutdownGrace = Duration.ofSeconds(5);
        private Duration requestTimeout = Duration.ofSeconds(60);
        private Gateway gateway;
        private long maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
        private long memoryLimit;
        private int maxProcesses;
        private KernelSandbox sandbox;
        private boolean scratchDirectory;

        public Builder workingDirectory(Path dir) {
            this.workingDirectory = dir;
            return this;
        }

        /** @throws IllegalArgumentException for a null or malformed name or a null value, naming the variable */
        public Builder env(String name, String value) {
            InputChecks.checkEnv(name, value, "KernelOptions.env");
            env.put(name, value);
            return this;
        }

        /** @throws IllegalArgumentException for a null map, a null or malformed name or a null value, naming the variable */
        public Builder env(Map<String, String> vars) {
            InputChecks.checkEnv(vars, "KernelOptions.env");
            env.putAll(vars);
            return this;
        }

        public Builder runtimeDir(Path dir) {
            this.runtimeDir = dir;
            return this;
        }

        public Builder startupTimeout(Duration d) {
            this.startupTimeout = d;
            return this;
        }

        public Builder heartbeatInterval(Duration d) {
            this.heartbeatInterval = d;
            return this;
        }

        public Builder heartbeatTimeout(Duration d) {
            this.heartbeatTimeout = d;
            return this;
        }

        public Builder shutdownGrace(Duration d) {
            this.shutdownGrace = d;
            return this;
        }

        public Builder requestTimeout(Duration d) {
            this.requestTimeout = d;
            return this;
        }

        /** Runs the kernel on this gateway instead of as a local process ({@code null}: local). */
        public Builder gateway(Gateway gateway) {
            this.gateway = gateway;
            return this;
        }

        public Builder maxMessageBytes(long bytes) {
            this.maxMessageBytes = bytes;
            return this;
        }

        public Builder memoryLimit(long bytes) {
            this.memoryLimit = bytes;
            return this;
        }

        public Builder maxProcesses(int n) {
            this.maxProcesses = n;
            return this;
        }

        /** Confines the kernel ({@code null}: no sandbox, the default). */
        public Builder sandbox(KernelSandbox sandbox) {
            this.sandbox = sandbox;
            return this;
        }

        /** Gives the kernel a fresh scratch directory of its own (default false). */
        public Builder scratchDirectory(boolean fresh) {
            this.scratchDirectory = fresh;
            return this;
        }

        public KernelOptions build() {
            return new KernelOptions(workingDirectory, env, runtimeDir, startupTimeout, heartbeatInterval,
                    heartbeatTimeout, shutdownGrace, requestTimeout, gateway, maxMessageBytes, memoryLimit, maxProcesses,
                    sandbox, scratchDirectory);
        }
    }
}

package dev.carpo.pool;

import dev.carpo.pool.kernel.Gateway;
import dev.carpo.pool.kernel.InputChecks;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a {@link LanguagePool} sizes itself, places work, and treats its kernels.
 *
 * <p>Example:
 * <pre>{@code
 * PoolOptions fixed = PoolOptions.builder().size(3).build();
 * PoolOptions elastic = PoolOptions.builder().min(2).max(8).strategy(Dispatch.LEAST_BUSY)
 *         .init("import math").idleTimeout(Duration.ofMinutes(2)).build();
 * }</pre>
 *
 * <p>Every duration must be positive; one longer than {@link #MAX_DURATION} (about 11.6 days, up to
 * {@code ChronoUnit.FOREVER.getDuration()}) means "no limit" and is clamped to it.
 *
 * <p>A pool holds at most {@link #MAX_POOL_SIZE} kernels; a larger {@code max} is refused. Below that,
 * a local pool whose {@code max} kernels would not fit in this machine's physical memory (at
 * {@code memoryLimit} each, or {@link #TYPICAL_KERNEL_BYTES} without one) is created, with a warning
 * logged once. Kernels start at most {@code maxConcurrentStarts} at a time, so even a large pool
 * never launches all its kernels at once.
 *
 * @param min kernels kept running (0 allowed for an elastic pool)
 * @param max kernels at most, up to {@link #MAX_POOL_SIZE}; {@code min == max} is a fixed pool
 * @param strategy placement of jobs that name no instance
 * @param init code run on every new kernel before it takes work (a failure there is a start failure)
 * @param env extra environment variables for the kernels
 * @param workingDirectory the kernels' working directory, or {@code null} for this process's
 * @param defaultTimeout a job's timeout when its {@link ExecuteOptions} gives none, counted from submission
 * @param maxQueued jobs waiting at most, at least 1; past it submissions are rejected at once (a job is
 *        counted as waiting from its submission, even when a kernel is free, so 0 would refuse every job)
 * @param idleTimeout how long an elastic pool keeps an idle kernel above {@code min}
 * @param startupTimeout how long one kernel may take to start and run its init code
 * @param maxStartAttempts consecutive start failures that open the circuit (pool state FAILED)
 * @param restartBackoff first delay between failed starts, doubling up to 30 s
 * @param interruptGrace how long an interrupted kernel may take to return to idle before it is replaced
 * @param leaseTimeout how long {@link LanguagePool#lease()} waits for a free instance
 * @param heartbeatTimeout how long a silent heartbeat takes to declare a kernel dead
 * @param shutdownGrace how long a kernel gets to exit after shutdown_request, and again after SIGTERM
 * @param gateway the Jupyter Server or Enterprise Gateway the pool's kernels run on, or {@code null}
 *        for local processes; the spec is then a kernelspec name on that server, {@code env} goes in
 *        each start request and {@code workingDirectory} is a path on the server
 * @param maxOutputBytes output a job keeps at most (stream text, rich data, tracebacks, reply payloads, in
 *        UTF-8 bytes); past it the head and the tail are kept and the middle dropped
 *        ({@link ExecutionResult#truncated()}); one kernel message larger than {@link #maxMessageBytes()}
 *        (twice this plus 64 KiB, at least 2 MiB + 64 KiB) is refused unread and ends its job with a
 *        {@link PoolOutputLimitException}
 * @param memoryLimit resident memory a local kernel (with everything it started) may use, in bytes, or 0
 *        for none; a kernel over it is stopped and its job fails with {@link PoolMemoryLimitException}.
 *        Held by the kernel's cgroup where one is writable, else by a /proc watchdog; refused for a gateway
 * @param maxProcesses processes (and threads) a local kernel may have at once, or 0 for no cap; needs a
 *        writable pids cgroup (createPool refuses it where there is none, and for a gateway)
 * @param maxConcurrentStarts kernels this pool starts at the same time at most (first starts, restarts
 *        and elastic growth together); the others wait for a start to finish
 * @param freshLeases every lease, and every ordinary job, gets a kernel that has run nothing but the
 *        pool's init and broadcast code, and that kernel is discarded when the lease (or the job) ends;
 *        see {@link Builder#freshLeases(boolean)}
 * @param maxLifetime a kernel older than this is retired once it is idle (never while it runs a job or is
 *        leased), or {@code null} for no limit; each kernel's is shortened by up to 2.5 %, at random, so
 *        a pool does not recycle all its kernels at once
 * @param maxExecutions a kernel is retired after this many jobs, or 0 for no limit
 * @param leakDetectionThreshold a lease held longer than this is logged once with the stack of the code
 *        that took it, and counted ({@code carpo.leases.leaked}), or {@code null} for no detection
 * @param sandbox how local kernels are confined (files, network), or {@code null} for no sandbox;
 *        refused for a gateway
 */
public record PoolOptions(
        int min,
        int max,
        Dispatch strategy,
        List<String> init,
        Map<String, String> env,
        Path workingDirectory,
        Duration defaultTimeout,
        int maxQueued,
        Duration idleTimeout,
        Duration startupTimeout,
        int maxStartAttempts,
        Duration restartBackoff,
        Duration interruptGrace,
        Duration leaseTimeout,
        Duration heartbeatTimeout,
        Duration shutdownGrace,
        Gateway gateway,
        long maxOutputBytes,
        long memoryLimit,
        int maxProcesses,
        int maxConcurrentStarts,
        boolean freshLeases,
        Duration maxLifetime,
        long maxExecutions,
        Duration leakDetectionThreshold,
        Sandbox sandbox) {

    /** {@link #maxOutputBytes()} unless set: 1 MiB a job, so 64 busy kernels keep at most 128 MiB of output in a JVM. */
    public static final long DEFAULT_MAX_OUTPUT_BYTES = 1L << 20;

    /** The longest duration an option takes; longer ones are clamped to it ({@link InputChecks#MAX_DURATION}, 1,000,000 s). */
    public static final Duration MAX_DURATION = InputChecks.MAX_DURATION;

    /**
     * The most kernels one pool may hold (its {@code max}, and {@link LanguagePool#scale}'s size).
     * Each kernel is a process with a few ZeroMQ sockets and tens of MB of memory; past a thousand,
     * a single client is the wrong shape (use several hosts, or a gateway per host).
     */
    public static final int MAX_POOL_SIZE = 1024;

    /**
     * The resident memory assumed for a kernel without a {@code memoryLimit} when checking a pool's
     * {@code max} against physical memory: 100 MiB, about an idle ipykernel with numpy imported.
     */
    public static final long TYPICAL_KERNEL_BYTES = 100L << 20;

    public PoolOptions {
        if (min < 0) {
            throw new IllegalArgumentException("PoolOptions.min must be >= 0, got " + min);
        }
        if (max < 1) {
            throw new IllegalArgumentException("PoolOptions.max must be >= 1, got " + max);
        }
        if (max > MAX_POOL_SIZE) {
            throw new IllegalArgumentException("PoolOptions.max must be at most " + MAX_POOL_SIZE
                    + " (PoolOptions.MAX_POOL_SIZE), got " + max);
        }
        if (min > max) {
            throw new IllegalArgumentException("PoolOptions.min (" + min + ") is greater than max (" + max + ")");
        }
        if (strategy == null) {
            throw new IllegalArgumentException("PoolOptions.strategy is null");
        }
        if (maxQueued < 1) {
            // Every job counts as waiting from its submission, so 0 would refuse them all.
            throw new IllegalArgumentException("PoolOptions.maxQueued must be >= 1, got " + maxQueued);
        }
        if (maxStartAttempts < 1) {
            throw new IllegalArgumentException("PoolOptions.maxStartAttempts must be >= 1, got " + maxStartAttempts);
        }
        defaultTimeout = positive(defaultTimeout, "defaultTimeout");
        idleTimeout = positive(idleTimeout, "idleTimeout");
        startupTimeout = positive(startupTimeout, "startupTimeout");
        restartBackoff = positive(restartBackoff, "restartBackoff");
        interruptGrace = positive(interruptGrace, "interruptGrace");
        leaseTimeout = positive(leaseTimeout, "leaseTimeout");
        heartbeatTimeout = positive(heartbeatTimeout, "heartbeatTimeout");
        shutdownGrace = positive(shutdownGrace, "shutdownGrace");
        if (init == null) {
            throw new IllegalArgumentException("PoolOptions.init is null");
        }
        for (int i = 0; i < init.size(); i++) {
            InputChecks.checkCode(init.get(i), "PoolOptions.init[" + i + "]");
        }
        InputChecks.checkEnv(env, "PoolOptions.env");
        if (maxOutputBytes < 1024) {
            throw new IllegalArgumentException("PoolOptions.maxOutputBytes must be at least 1024 bytes, got " + maxOutputBytes);
        }
        if (memoryLimit < 0) {
            throw new IllegalArgumentException("PoolOptions.memoryLimit must be >= 0 bytes (0: no limit), got " + memoryLimit);
        }
        if (maxProcesses < 0) {
            throw new IllegalArgumentException("PoolOptions.maxProcesses must be >= 0 (0: no cap), got " + maxProcesses);
        }
        if (maxConcurrentStarts < 1) {
            throw new IllegalArgumentException("PoolOptions.maxConcurrentStarts must be >= 1, got " + maxConcurrentStarts);
        }
        if (maxLifetime != null) {
            maxLifetime = positive(maxLifetime, "maxLifetime");
        }
        if (maxExecutions < 0) {
            throw new IllegalArgumentException("PoolOptions.maxExecutions must be >= 0 (0: no limit), got " + maxExecutions);
        }
        if (leakDetectionThreshold != null) {
            leakDetectionThreshold = positive(leakDetectionThreshold, "leakDetectionThreshold");
        }
        if (sandbox != null && gateway != null) {
            throw new IllegalArgumentException("PoolOptions.sandbox is for kernels carpo runs as local processes; a pool on gateway "
                    + gateway.location() + " runs its kernels there, under the gateway's own isolation");
        }
        init = List.copyOf(init);
        env = Map.copyOf(env);
    }

    private static Duration positive(Duration d, String name) {
        if (d == null || d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("PoolOptions." + name + " must be a positive duration, got " + d);
        }
        return InputChecks.clamp(d);
    }

    /** Whether the pool grows and shrinks between min and max. */
    public boolean elastic() {
        return min < max;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A copy with other bounds. */
    PoolOptions withBounds(int newMin, int newMax) {
        return new PoolOptions(newMin, newMax, strategy, init, env, workingDirectory, defaultTimeout, maxQueued,
                idleTimeout, startupTimeout, maxStartAttempts, restartBackoff, interruptGrace, leaseTimeout,
                heartbeatTimeout, shutdownGrace, gateway, maxOutputBytes, memoryLimit, maxProcesses, maxConcurrentStarts,
                freshLeases, maxLifetime, maxExecutions, leakDetectionThreshold, sandbox);
    }

    /**
     * How long starting {@code kernels} kernels may take at most: {@code startupTimeout} for each round of
     * {@code maxConcurrentStarts} starts, and for each of {@code maxStartAttempts} failed starts. The bound
     * {@link KernelPools#createPool} and {@link LanguagePool#scale} wait for (never overflows).
     */
    public Duration maxStartWait(int kernels) {
        long rounds = (Math.max(1, kernels) + (long) maxConcurrentStarts - 1) / maxConcurrentStarts;
        return startupTimeout.multipliedBy(rounds + maxStartAttempts);
    }

    /**
     * The largest message the pool's kernels may send, which is received whole and then cut to the
     * job's limit: twice {@link #maxOutputBytes()} (JSON escapes text) plus 64 KiB of envelope, and
     * never less than the default's 2 MiB + 64 KiB, so that a pool with a small limit still
     * truncates an ordinary burst (ipykernel sends what a cell printed in 0.2 s as one message)
     * rather than refusing it. A larger message is refused unread ({@link PoolOutputLimitException}).
     */
    public long maxMessageBytes() {
        long floor = dev.carpo.pool.kernel.KernelOptions.DEFAULT_MAX_MESSAGE_BYTES;
        return maxOutputBytes >= Integer.MAX_VALUE / 2 ? Integer.MAX_VALUE : Math.max(floor, 2 * maxOutputBytes + (64 << 10));
    }

    /** The default for {@link #maxConcurrentStarts()}: the cores, at least 2 (a start is mostly CPU: the kernel's imports). */
    public static int defaultMaxConcurrentStarts() {
        return Math.max(2, Runtime.getRuntime().availableProcessors());
    }

    /** Builder for {@link PoolOptions}; defaults: size 1, LEAST_BUSY, 5 min timeout, 10 000 queued. */
    public static final class Builder {
        private int min = 1;
        private int max = 1;
        private Dispatch strategy = Dispatch.LEAST_BUSY;
        private final List<String> init = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private Path workingDirectory;
        private Duration defaultTimeout = Duration.ofMinutes(5);
        private int maxQueued = 10_000;
        private Duration idleTimeout = Duration.ofMinutes(1);
        private Duration startupTimeout = Duration.ofSeconds(60);
        private int maxStartAttempts = 3;
        private Duration restartBackoff = Duration.ofMillis(500);
        private Duration interruptGrace = Duration.ofSeconds(5);
        private Duration leaseTimeout = Duration.ofSeconds(30);
        private Duration heartbeatTimeout = Duration.ofSeconds(10);
        private Duration shutdownGrace = Duration.ofSeconds(5);
        private Gateway gateway;
        private long maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES;
        private long memoryLimit;
        private int maxProcesses;
        private int maxConcurrentStarts = defaultMaxConcurrentStarts();
        private boolean freshLeases;
        private Duration maxLifetime;
        private long maxExecutions;
        private Duration leakDetectionThreshold;
        private Sandbox sandbox;

        /** A fixed pool of {@code n} kernels, up to {@link PoolOptions#MAX_POOL_SIZE}. */
        public Builder size(int n) {
            this.min = n;
            this.max = n;
            return this;
        }

        public Builder min(int min) {
            this.min = min;
            return this;
        }

        /** Kernels at most, up to {@link PoolOptions#MAX_POOL_SIZE}; see {@link PoolOptions} for the memory warning. */
        public Builder max(int max) {
            this.max = max;
            return this;
        }

        public Builder strategy(Dispatch strategy) {
            this.strategy = strategy;
            return this;
        }

        /**
         * Code run on every new kernel, in the order given.
         *
         * @throws IllegalArgumentException when it is null or has an unpaired surrogate (no UTF-8 form)
         */
        public Builder init(String code) {
            init.add(InputChecks.checkCode(code, "PoolOptions.init[" + init.size() + "]"));
            return this;
        }

        /** @throws IllegalArgumentException for a null or malformed name or a null value, naming the variable */
        public Builder env(String name, String value) {
            InputChecks.checkEnv(name, value, "PoolOptions.env");
            env.put(name, value);
            return this;
        }

        /** @throws IllegalArgumentException for a null map, a null or malformed name or a null value, naming the variable */
        public Builder env(Map<String, String> vars) {
            InputChecks.checkEnv(vars, "PoolOptions.env");
            env.putAll(vars);
            return this;
        }

        public Builder workingDirectory(Path dir) {
            this.workingDirectory = dir;
            return this;
        }

        public Builder defaultTimeout(Duration d) {
            this.defaultTimeout = d;
            return this;
        }

        /** Jobs waiting at most, at least 1 (default 10 000); past it a submission is refused with {@link PoolRejectedException}. */
        public Builder maxQueued(int n) {
            this.maxQueued = n;
            return this;
        }

        public Builder idleTimeout(Duration d) {
            this.idleTimeout = d;
            return this;
        }

        public Builder startupTimeout(Duration d) {
            this.startupTimeout = d;
            return this;
        }

        public Builder maxStartAttempts(int n) {
            this.maxStartAttempts = n;
            return this;
        }

        public Builder restartBackoff(Duration d) {
            this.restartBackoff = d;
            return this;
        }

        public Builder interruptGrace(Duration d) {
            this.interruptGrace = d;
            return this;
        }

        public Builder leaseTimeout(Duration d) {
            this.leaseTimeout = d;
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

        /**
         * Runs the pool's kernels on a Jupyter Server or Enterprise Gateway rather than as local
         * processes: {@code gateway(URI.create("http://gateway:8888"), token)}. The token may be
         * {@code null} for a server without one. An {@code https} URL is checked against the JDK's
         * default trust store ({@code -Djavax.net.ssl.trustStore=…}); for a trust of this pool's
         * own, see {@link #gateway(Gateway)}.
         */
        public Builder gateway(URI url, String token) {
            this.gateway = url == null ? null : Gateway.of(url, token);
            return this;
        }

        /**
         * As {@link #gateway(URI, String)}, with the gateway's connect and request timeouts and TLS
         * context given, for example one trusting a self-signed certificate without JVM-wide settings:
         * <pre>{@code
         * .gateway(Gateway.builder(URI.create("https://gateway:8888")).token(token)
         *         .trustCertificates(Path.of("gateway-cert.pem")).build())
         * }</pre>
         */
        public Builder gateway(Gateway gateway) {
            this.gateway = gateway;
            return this;
        }

        /** Output a job keeps at most, in bytes (default {@link PoolOptions#DEFAULT_MAX_OUTPUT_BYTES}); see {@link PoolOptions#maxOutputBytes()}. */
        public Builder maxOutputBytes(long bytes) {
            this.maxOutputBytes = bytes;
            return this;
        }

        /**
         * Resident memory each local kernel may use, with all it started, in bytes (0: no limit, the
         * default): {@code memoryLimit(512L << 20)}. See the README's "Running untrusted code" for the
         * mechanism (a cgroup where one is writable, else a watchdog over /proc).
         */
        public Builder memoryLimit(long bytes) {
            this.memoryLimit = bytes;
            return this;
        }

        /** Processes and threads each local kernel may have at once (0: no cap, the default). */
        public Builder maxProcesses(int n) {
            this.maxProcesses = n;
            return this;
        }

        /** Kernels started at the same time at most (default {@link PoolOptions#defaultMaxConcurrentStarts()}); the rest wait their turn. */
        public Builder maxConcurrentStarts(int n) {
            this.maxConcurrentStarts = n;
            return this;
        }

        /**
         * One tenant per kernel (default off): every lease gets a kernel that has run nothing but the
         * pool's init and broadcast code, and when the lease is released (or was granted as its caller
         * gave up) that kernel is shut down and a new one started in the background. Ordinary jobs are
         * treated as one-job leases: each runs on a fresh idle kernel, which is discarded after it, so
         * no job ever sees what an earlier one left (variables, imports, files in its scratch directory).
         *
         * <p>The pool's idle kernels are the warm spares: with one idle, a lease is granted at once.
         * With none idle, the lease waits (up to its timeout) while the pool starts one, if it is below
         * {@code max}, or until a released kernel has been replaced. Each local kernel also gets its own
         * empty scratch directory ({@code CARPO_SCRATCH} in its environment, its working directory unless
         * {@link #workingDirectory} is set), removed when the kernel goes (a gateway's kernels live in the
         * gateway's file system, and get none).
         *
         * <pre>{@code
         * PoolOptions.builder().size(3).freshLeases(true).build();   // three warm, unused kernels
         * }</pre>
         */
        public Builder freshLeases(boolean fresh) {
            this.freshLeases = fresh;
            return this;
        }

        /**
         * Retires a kernel older than {@code d} once it is idle: a replacement is started first, and the
         * old kernel keeps serving until it is ready, so the pool never drops below {@code min} for a
         * recycle. A job or lease in progress is never cut short. {@code null}: no limit (default).
         */
        public Builder maxLifetime(Duration d) {
            this.maxLifetime = d;
            return this;
        }

        /**
         * Retires a kernel after {@code n} jobs (0: no limit, default); its replacement starts as it is
         * sent its last one. Setup code (init, broadcasts) is not counted.
         */
        public Builder maxExecutions(long n) {
            this.maxExecutions = n;
            return this;
        }

        /**
         * Logs a lease held longer than {@code d}, once, at WARN with the stack of the code that took it
         * (as HikariCP's {@code leakDetectionThreshold}), and counts it in {@code carpo.leases.leaked}
         * and {@link PoolStats#leasesLeaked()}. {@code null}: no detection (default).
         */
        public Builder leakDetectionThreshold(Duration d) {
            this.leakDetectionThreshold = d;
            return this;
        }

        /**
         * Confines every local kernel ({@link Sandbox}): a read-only system, its own private
         * {@code /tmp}, only the paths listed, and with {@code network(false)} no network at all.
         * {@code null}: no sandbox (default). Refused for a gateway.
         */
        public Builder sandbox(Sandbox sandbox) {
            this.sandbox = sandbox;
            return this;
        }

        public PoolOptions build() {
            return new PoolOptions(min, max, strategy, init, env, workingDirectory, defaultTimeout, maxQueued,
                    idleTimeout, startupTimeout, maxStartAttempts, restartBackoff, interruptGrace, leaseTimeout,
                    heartbeatTimeout, shutdownGrace, gateway, maxOutputBytes, memoryLimit, maxProcesses, maxConcurrentStarts,
                    freshLeases, maxLifetime, maxExecutions, leakDetectionThreshold, sandbox);
        }
    }
}

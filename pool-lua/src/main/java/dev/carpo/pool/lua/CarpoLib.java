package dev.carpo.pool.lua;

import dev.carpo.pool.Dispatch;
import dev.carpo.pool.ExecuteOptions;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelLease;
import dev.carpo.pool.KernelPools;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolException;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.Sandbox;
import dev.carpo.pool.kernel.Gateway;
import dev.carpo.pool.kernel.JupyterPaths;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.kernel.KernelSpecException;
import dev.carpo.pool.metrics.MetricsEndpoint;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.TwoArgFunction;
import org.luaj.vm2.lib.VarArgFunction;

/**
 * The {@code carpo} Lua module: pools by language, jobs, futures, leases, metrics. Instances are
 * numbered from 1 here, as Lua numbers everything; the Java API numbers them from 0.
 *
 * <p>Misuse (unknown language, bad option, instance out of range, unknown spec) raises a Lua error
 * naming the function and the problem; LuaJ prefixes the script's file and line. A job that fails
 * outside the kernel raises from {@code execute_code} and {@code :wait()}; {@code wait_all} and
 * {@code map} give such a job an entry {@code {status, message}} instead.
 */
final class CarpoLib extends TwoArgFunction {
    private static final List<String> POOL_OPTIONS = List.of("size", "min", "max", "strategy", "init", "timeout", "env",
            "cwd", "startup_timeout", "idle_timeout", "max_queued", "lease_timeout", "max_start_attempts", "gateway", "token", "ca_cert",
            "max_output", "memory_limit", "max_processes", "max_concurrent_starts", "fresh_leases", "max_lifetime",
            "max_executions", "leak_detection_threshold", "sandbox");
    private static final List<String> SANDBOX_OPTIONS = List.of("network", "read_only", "writable");
    private static final List<String> JOB_OPTIONS = List.of("language", "instance", "timeout", "max_output");

    private final LuaSession session;
    private final KernelPools pools;
    private final PrometheusMeterRegistry registry;
    private final JobWaits waits = new JobWaits();
    private LuaTable futureMeta;
    private LuaTable leaseMeta;
    private volatile MetricsEndpoint metrics;

    CarpoLib(LuaSession session, KernelPools pools, PrometheusMeterRegistry registry) {
        this.session = session;
        this.pools = pools;
        this.registry = registry;
    }

    /** Installs {@code carpo} as a global and as {@code package.loaded.carpo}. */
    @Override
    public LuaValue call(LuaValue modname, LuaValue env) {
        futureMeta = LuaJobFuture.metatable(this, waits);
        leaseMeta = LuaLease.metatable(this, waits);
        LuaTable carpo = new LuaTable();
        carpo.set("version", Version.get());
        carpo.set("create_pool", function("create_pool", this::createPool));
        carpo.set("execute_code", function("execute_code", args -> submit("execute_code", args).awaitResult(waits, "execute_code")));
        carpo.set("submit", function("submit", args -> LuaJobFuture.userdata(submit("submit", args), futureMeta)));
        carpo.set("wait_all", function("wait_all", this::waitAll));
        carpo.set("map", function("map", this::map));
        carpo.set("broadcast", function("broadcast", this::broadcast));
        carpo.set("lease", function("lease", this::lease));
        carpo.set("scale_pool", function("scale_pool", this::scalePool));
        carpo.set("pool_stats", function("pool_stats", args -> LuaTables.stats(pool("pool_stats", args.arg(1)))));
        carpo.set("list_pools", function("list_pools", args -> LuaTables.list(List.copyOf(pools.pools().keySet()))));
        carpo.set("shutdown_pool", function("shutdown_pool", this::shutdownPool));
        carpo.set("kernelspecs", function("kernelspecs", this::kernelSpecs));
        carpo.set("kernelspec_paths", function("kernelspec_paths", this::kernelSpecPaths));
        carpo.set("serve_metrics", function("serve_metrics", this::serveMetrics));
        env.set("carpo", carpo);
        LuaValue loaded = env.get("package").get("loaded");
        if (loaded.istable()) {
            loaded.set("carpo", carpo);
        }
        return carpo;
    }

    // ---- pools ----

    private Varargs createPool(Varargs args) {
        String language = string("create_pool", args, 1, "a language key such as \"python\"");
        LuaValue specArg = args.arg(2);
        if (!specArg.isnil() && specArg.type() != LuaValue.TSTRING) {
            throw LuaOptions.error("create_pool", "argument #2 must be a kernelspec name, directory or kernel.json path, got "
                    + LuaOptions.describe(specArg));
        }
        LuaOptions o = LuaOptions.of("create_pool", args, 3, POOL_OPTIONS);
        if (specArg.isnil() && o.has("gateway")) {
            throw LuaOptions.error("create_pool", "pool '" + language + "': with a gateway, name the server's kernelspec as argument #2"
                    + " (./carpo kernels --gateway URL lists them)");
        }
        String spec = specArg.isnil() ? defaultSpec(language) : specArg.tojstring();
        PoolOptions options;
        try {
            options = poolOptions(o);
        } catch (IllegalArgumentException e) {
            throw LuaOptions.error("create_pool", "pool '" + language + "': " + e.getMessage());
        }
        if (pools.pools().containsKey(language)) {
            throw LuaOptions.error("create_pool", "a pool for language '" + language + "' already exists; shut it down first"
                    + " with carpo.shutdown_pool(\"" + language + "\")");
        }
        CompletableFuture<LanguagePool> started = waits.track(pools.createPoolAsync(language, spec, options), JobWaits.Work.POOL_START);
        Duration max = options.maxStartWait(options.min()).plus(JobWaits.GRACE);
        boolean done;
        try {
            done = waits.awaitDone(started, max, "create_pool");
        } catch (RuntimeException interrupted) {
            closeHalfStarted(language);
            throw interrupted;
        }
        if (!done) {
            closeHalfStarted(language);
            throw LuaOptions.error("create_pool", "pool '" + language + "': its kernels were not ready within "
                    + JobWaits.seconds(max) + "; the pool was shut down");
        }
        Throwable error = JobWaits.failure(started, language);
        if (error != null) {
            throw LuaOptions.error("create_pool", error instanceof PoolException e ? e.getMessage() : String.valueOf(error.getMessage()));
        }
        return LuaTables.stats(started.join());
    }

    /** A pool the script gave up on: its kernels must not outlive the call, nor its name block a retry. */
    private void closeHalfStarted(String language) {
        LanguagePool half = pools.pools().get(language);
        if (half != null) {
            try {
                half.closeAsync().get(half.options().shutdownGrace().multipliedBy(2).plusSeconds(10).toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception stillClosing) {
                // It goes on closing; its kernels are shut down when it is done, or at exit.
            }
        }
    }

    private static PoolOptions poolOptions(LuaOptions o) {
        PoolOptions.Builder b = PoolOptions.builder();
        if (o.has("size")) {
            if (o.has("min") || o.has("max")) {
                throw new IllegalArgumentException("give either size or min/max, not both");
            }
            b.size(atMost(PoolOptions.MAX_POOL_SIZE, "size", atLeast(1, "size", o.integer("size"))));
        }
        Integer min = o.integer("min");
        Integer max = o.integer("max");
        if (min != null) {
            b.min(atLeast(0, "min", min));
        }
        if (max != null) {
            b.max(atMost(PoolOptions.MAX_POOL_SIZE, "max", atLeast(1, "max", max)));
        }
        if (min != null && max != null && min > max) {
            throw new IllegalArgumentException("min (" + min + ") is greater than max (" + max + ")");
        }
        if (o.has("strategy")) {
            String s = o.string("strategy");
            try {
                b.strategy(Dispatch.valueOf(s.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("strategy must be \"round_robin\" or \"least_busy\", got \"" + s + "\"");
            }
        }
        if (o.has("init")) {
            b.init(o.code("init"));
        }
        if (o.has("timeout")) {
            b.defaultTimeout(o.seconds("timeout"));
        }
        if (o.has("env")) {
            b.env(o.stringMap("env"));
        }
        if (o.has("cwd")) {
            b.workingDirectory(Path.of(o.string("cwd")));
        }
        if (o.has("startup_timeout")) {
            b.startupTimeout(o.seconds("startup_timeout"));
        }
        if (o.has("idle_timeout")) {
            b.idleTimeout(o.seconds("idle_timeout"));
        }
        if (o.has("max_queued")) {
            // At least 1: every job counts as waiting from its submission, so 0 would refuse them all.
            b.maxQueued(atLeast(1, "max_queued", o.integer("max_queued")));
        }
        if (o.has("lease_timeout")) {
            b.leaseTimeout(o.seconds("lease_timeout"));
        }
        if (o.has("max_start_attempts")) {
            b.maxStartAttempts(atLeast(1, "max_start_attempts", o.integer("max_start_attempts")));
        }
        if (o.has("max_output")) {
            b.maxOutputBytes(o.bytes("max_output", 1024));
        }
        if (o.has("memory_limit")) {
            b.memoryLimit(o.bytes("memory_limit", 0));
        }
        if (o.has("max_processes")) {
            b.maxProcesses(atLeast(0, "max_processes", o.integer("max_processes")));
        }
        if (o.has("max_concurrent_starts")) {
            b.maxConcurrentStarts(atLeast(1, "max_concurrent_starts", o.integer("max_concurrent_starts")));
        }
        if (o.has("fresh_leases")) {
            b.freshLeases(o.bool("fresh_leases"));
        }
        if (o.has("max_lifetime")) {
            b.maxLifetime(o.seconds("max_lifetime"));
        }
        if (o.has("max_executions")) {
            b.maxExecutions(o.count("max_executions"));
        }
        if (o.has("leak_detection_threshold")) {
            b.leakDetectionThreshold(o.seconds("leak_detection_threshold"));
        }
        LuaOptions box = o.table("sandbox", SANDBOX_OPTIONS);
        if (box != null) {
            Sandbox.Builder sb = Sandbox.builder().network(Boolean.TRUE.equals(box.bool("network")));
            for (String p : box.strings("read_only") == null ? List.<String>of() : box.strings("read_only")) {
                sb.readOnly(absolute("sandbox.read_only", p));
            }
            for (String p : box.strings("writable") == null ? List.<String>of() : box.strings("writable")) {
                sb.writable(absolute("sandbox.writable", p));
            }
            b.sandbox(sb.build());
        }
        if (o.has("gateway")) {
            URI url = gatewayUrl(o.string("gateway"));
            Gateway.Builder gw = Gateway.builder(url).token(o.has("token") ? o.string("token") : System.getenv(TOKEN_ENV));
            if (o.has("ca_cert")) {
                if (!"https".equalsIgnoreCase(url.getScheme())) {
                    throw new IllegalArgumentException("option 'ca_cert' is for an https:// gateway; " + url + " is plain HTTP");
                }
                try {
                    // For scripts that cannot set the JVM's trust-store properties: this gateway trusts the PEM's certificates.
                    gw.trustCertificates(Path.of(o.string("ca_cert")));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("option 'ca_cert': " + e.getMessage(), e);
                }
            }
            b.gateway(gw.build());
        } else if (o.has("token") || o.has("ca_cert")) {
            throw new IllegalArgumentException("option '" + (o.has("token") ? "token" : "ca_cert") + "' is for a gateway; give 'gateway' too");
        }
        return b.build();
    }

    private static Path absolute(String option, String path) {
        Path p = Path.of(path);
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException("option '" + option + "': path \"" + path + "\" is not absolute");
        }
        return p;
    }

    /** The environment variable a gateway token is read from when a script gives none (as Jupyter Server's own gateway client). */
    static final String TOKEN_ENV = "JUPYTER_GATEWAY_AUTH_TOKEN";

    static URI gatewayUrl(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("option 'gateway' is not a URL: " + e.getMessage());
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
            throw new IllegalArgumentException("option 'gateway' must be an http:// or https:// URL with a host, got \"" + url + "\"");
        }
        return uri;
    }

    private static int atLeast(int floor, String option, int value) {
        if (value < floor) {
            throw new IllegalArgumentException("option '" + option + "' must be at least " + floor + ", got " + value);
        }
        return value;
    }

    private static int atMost(int ceiling, String option, int value) {
        if (value > ceiling) {
            throw new IllegalArgumentException("option '" + option + "' must be at most " + ceiling
                    + " (the most kernels a pool may hold), got " + value);
        }
        return value;
    }

    /** With no spec given: the kernelspec named like the language, else the one kernelspec of that language. */
    private String defaultSpec(String language) {
        Map<String, Path> all = pools.kernelSpecs().list();
        if (all.containsKey(language.toLowerCase(Locale.ROOT))) {
            return language;
        }
        List<String> matching = new ArrayList<>();
        for (String name : all.keySet()) {
            try {
                if (pools.kernelSpecs().find(name).language().equalsIgnoreCase(language)) {
                    matching.add(name);
                }
            } catch (KernelSpecException unreadable) {
                // A broken spec of another language must not stop this one.
            }
        }
        if (matching.size() == 1) {
            return matching.get(0);
        }
        throw LuaOptions.error("create_pool", "no kernelspec given for '" + language + "', and "
                + (matching.isEmpty() ? "none is named so or has that language" : matching.size() + " have that language (" + String.join(", ", matching) + ")")
                + "; pass one as argument #2 (kernelspecs: " + (all.isEmpty() ? "none" : String.join(", ", all.keySet())) + ")");
    }

    private Varargs scalePool(Varargs args) {
        boolean implicit = args.narg() == 1;
        LanguagePool pool = pool("scale_pool", implicit ? LuaValue.NIL : args.arg(1));
        LuaValue n = args.arg(implicit ? 1 : 2);
        int size = LuaOptions.checkInteger("scale_pool", "the size", n);
        if (size < 1) {
            throw LuaOptions.error("scale_pool", "pool '" + pool.language() + "': size must be at least 1, got " + size);
        }
        if (size > PoolOptions.MAX_POOL_SIZE) {
            throw LuaOptions.error("scale_pool", "pool '" + pool.language() + "': size must be at most " + PoolOptions.MAX_POOL_SIZE
                    + " (the most kernels a pool may hold), got " + size);
        }
        CompletableFuture<Void> scaled = waits.track(pool.scaleAsync(size), JobWaits.Work.SCALING);
        Duration max = pool.options().maxStartWait(size).plus(JobWaits.GRACE);
        if (!waits.awaitDone(scaled, max, "scale_pool")) {
            throw LuaOptions.error("scale_pool", "pool '" + pool.language() + "' did not reach " + size + " instances within "
                    + JobWaits.seconds(max) + " (it keeps trying)");
        }
        Throwable error = JobWaits.failure(scaled, pool.language());
        if (error != null) {
            throw LuaJobFuture.raise("scale_pool", error);
        }
        return LuaTables.stats(pool);
    }

    private Varargs shutdownPool(Varargs args) {
        LanguagePool pool = pool("shutdown_pool", args.arg(1));
        Duration max = pool.options().shutdownGrace().multipliedBy(2).plusSeconds(10);
        if (!waits.awaitDone(pool.closeAsync(), max, "shutdown_pool")) {
            throw LuaOptions.error("shutdown_pool", "pool '" + pool.language() + "' did not finish shutting down within "
                    + JobWaits.seconds(max) + " (it goes on)");
        }
        return LuaValue.NONE;
    }

    private Varargs kernelSpecs(Varargs args) {
        LuaTable t = new LuaTable();
        pools.kernelSpecs().locate().forEach((name, located) -> {
            LuaTable entry;
            try {
                entry = LuaTables.kernelSpec(KernelSpec.read(located.dir().resolve("kernel.json")));
            } catch (KernelSpecException e) {
                entry = new LuaTable();
                entry.set("name", name);
                entry.set("error", e.getMessage());
            }
            entry.set("origin", located.origin());
            t.set(name, entry);
        });
        return t;
    }

    /** {@code carpo.kernelspec_paths()}: the Jupyter data dirs searched, highest priority first, as {@code {dir, origin}}. */
    private Varargs kernelSpecPaths(Varargs args) {
        LuaTable t = new LuaTable();
        int i = 1;
        for (JupyterPaths.SearchDir d : pools.kernelSpecs().searchDirs()) {
            LuaTable entry = new LuaTable();
            entry.set("dir", d.dir().toString());
            entry.set("origin", d.origin());
            t.set(i++, entry);
        }
        return t;
    }

    private Varargs serveMetrics(Varargs args) {
        int port = args.arg(1).isnil() ? 0 : LuaOptions.checkInteger("serve_metrics", "the port", args.arg(1));
        if (port < 0 || port > 65535) {
            throw LuaOptions.error("serve_metrics", "port must be 0 (any free port) to 65535, got " + port);
        }
        MetricsEndpoint serving = metrics;
        if (serving != null) {
            if (port == 0 || port == serving.port()) {
                return LuaValue.valueOf(url(serving));
            }
            throw LuaOptions.error("serve_metrics", "already serving at " + url(serving) + "; one endpoint per script");
        }
        try {
            metrics = MetricsEndpoint.start(registry, port);
        } catch (IOException e) {
            throw LuaOptions.error("serve_metrics", "cannot listen on 127.0.0.1:" + port + ": " + e.getMessage());
        }
        return LuaValue.valueOf(url(metrics));
    }

    private static String url(MetricsEndpoint endpoint) {
        return "http://127.0.0.1:" + endpoint.port() + "/metrics";
    }

    // ---- jobs ----

    /** {@code (code, {language, instance, timeout})}: the job submitted, not waited for. */
    private LuaJobFuture submit(String function, Varargs args) {
        String code = code(function, args, 1);
        LuaOptions o = LuaOptions.of(function, args, 2, JOB_OPTIONS);
        String language = o.string("language");
        Integer instance = o.integer("instance");
        Duration timeout = o.seconds("timeout");
        LanguagePool pool = pool(function, language == null ? LuaValue.NIL : LuaValue.valueOf(language));
        ExecuteOptions.Builder b = ExecuteOptions.builder();
        if (instance != null) {
            if (instance < 1) {
                throw outOfRange(function, pool, instance);
            }
            b.instance(instance - 1);
        }
        if (timeout == null) {
            timeout = pool.options().defaultTimeout();
        }
        b.timeout(timeout);
        if (o.has("max_output")) {
            b.maxOutputBytes(o.bytes("max_output", 1024));
        }
        CompletableFuture<ExecutionResult> f;
        try {
            f = pool.submit(code, b.build());
        } catch (IllegalArgumentException pastTheEnd) {
            if (instance == null) {
                throw pastTheEnd;
            }
            throw outOfRange(function, pool, instance); // the pool's own range check, numbered from 1
        }
        return new LuaJobFuture(waits.track(f), pool.language(), timeout);
    }

    /** An instance out of range, numbered from 1 as the script numbers it, with the range there is. */
    private static LuaError outOfRange(String function, LanguagePool pool, Integer instance) {
        int n = pool.stats().instances().size();
        return LuaOptions.error(function, "instance " + instance + " is out of range: pool '" + pool.language()
                + "' has " + n + " instance" + (n == 1 ? "" : "s") + " (1.." + n + ")");
    }

    private Varargs waitAll(Varargs args) {
        LuaValue list = args.arg(1);
        if (!list.istable()) {
            throw LuaOptions.error("wait_all", "argument #1 must be a list of futures from carpo.submit, got " + LuaOptions.describe(list));
        }
        List<LuaJobFuture> futures = new ArrayList<>();
        for (int i = 1; i <= list.length(); i++) {
            LuaValue v = list.get(i);
            if (!v.isuserdata(LuaJobFuture.class)) {
                throw LuaOptions.error("wait_all", "entry " + i + " is " + LuaOptions.describe(v) + ", not a future from carpo.submit");
            }
            futures.add((LuaJobFuture) v.touserdata(LuaJobFuture.class));
        }
        return outcomes("wait_all", futures);
    }

    /** Waits for every job in order; a failed job becomes its failure entry, never an error. */
    private LuaTable outcomes(String function, List<LuaJobFuture> futures) {
        LuaTable out = new LuaTable();
        for (int i = 0; i < futures.size(); i++) {
            out.set(i + 1, futures.get(i).awaitOutcome(waits, function));
        }
        return out;
    }

    /** {@code map([language,] codes [, {timeout}])}: every code in parallel, results in order. */
    private Varargs map(Varargs args) {
        boolean implicit = args.arg1().istable();
        LanguagePool pool = pool("map", implicit ? LuaValue.NIL : args.arg1());
        int at = implicit ? 1 : 2;
        LuaValue codes = args.arg(at);
        if (!codes.istable()) {
            throw LuaOptions.error("map", "argument #" + at + " must be a list of code strings, got " + LuaOptions.describe(codes));
        }
        LuaOptions o = LuaOptions.of("map", args, at + 1, List.of("timeout"));
        Duration timeout = o.has("timeout") ? o.seconds("timeout") : pool.options().defaultTimeout();
        List<String> sources = new ArrayList<>();
        for (int i = 1; i <= codes.length(); i++) {
            LuaValue c = codes.get(i);
            if (!c.isstring()) {
                throw LuaOptions.error("map", "entry " + i + " is " + LuaOptions.describe(c) + ", not code");
            }
            sources.add(LuaOptions.utf8("map", "entry " + i, c));
        }
        List<LuaJobFuture> futures = new ArrayList<>();
        ExecuteOptions eo = ExecuteOptions.builder().timeout(timeout).build();
        for (String source : sources) {
            futures.add(new LuaJobFuture(waits.track(pool.submit(source, eo)), pool.language(), timeout));
        }
        return outcomes("map", futures);
    }

    private Varargs broadcast(Varargs args) {
        boolean implicit = args.narg() == 1;
        LanguagePool pool = pool("broadcast", implicit ? LuaValue.NIL : args.arg1());
        String code = code("broadcast", args, implicit ? 1 : 2);
        CompletableFuture<List<ExecutionResult>> all = waits.track(pool.broadcastAsync(code), JobWaits.Work.BROADCAST);
        Duration max = pool.options().defaultTimeout().plus(JobWaits.GRACE);
        if (!waits.awaitDone(all, max, "broadcast")) {
            throw LuaOptions.error("broadcast", "pool '" + pool.language() + "': not every instance ran it within " + JobWaits.seconds(max));
        }
        Throwable error = JobWaits.failure(all, pool.language());
        if (error != null) {
            throw LuaJobFuture.raise("broadcast", error);
        }
        LuaTable out = new LuaTable();
        for (ExecutionResult r : all.join()) {
            out.set(out.length() + 1, LuaTables.result(r));
        }
        return out;
    }

    private Varargs lease(Varargs args) {
        boolean implicit = args.arg1().istable();
        LuaOptions o = LuaOptions.of("lease", args, implicit ? 1 : 2, List.of("timeout"));
        LanguagePool pool = pool("lease", implicit ? LuaValue.NIL : args.arg1());
        Duration timeout = o.has("timeout") ? o.seconds("timeout") : pool.options().leaseTimeout();
        CompletableFuture<KernelLease> granted = waits.track(pool.leaseAsync(timeout), JobWaits.Work.LEASE);
        boolean done = false;
        try {
            done = waits.awaitDone(granted, timeout.plus(JobWaits.GRACE), "lease");
        } finally {
            if (!done) {
                granted.thenAccept(KernelLease::close); // granted after we stopped waiting: give it back
            }
        }
        Throwable error = JobWaits.failure(granted, pool.language());
        if (error != null) {
            throw LuaJobFuture.raise("lease", error);
        }
        return LuaLease.userdata(granted.join(), leaseMeta);
    }

    // ---- shared ----

    /**
     * The pool a call means: the one named, or with {@code nil} the only pool there is.
     */
    private LanguagePool pool(String function, LuaValue language) {
        Map<String, LanguagePool> all = pools.pools();
        if (language.isnil()) {
            if (all.size() == 1) {
                return all.values().iterator().next();
            }
            throw LuaOptions.error(function, all.isEmpty()
                    ? "there is no pool yet; create one with carpo.create_pool(language, kernelspec, {size = n})"
                    : all.size() + " pools exist (" + String.join(", ", all.keySet()) + "); say which with the language");
        }
        if (language.type() != LuaValue.TSTRING) {
            throw LuaOptions.error(function, "the language must be a string such as \"python\", got " + LuaOptions.describe(language));
        }
        LanguagePool pool = all.get(language.tojstring());
        if (pool == null) {
            throw LuaOptions.error(function, "no pool for language '" + language.tojstring() + "'; pools: "
                    + (all.isEmpty() ? "none (create one with carpo.create_pool)" : String.join(", ", all.keySet())));
        }
        return pool;
    }

    static String code(String function, Varargs args, int index) {
        LuaValue v = args.arg(index);
        if (!v.isstring()) {
            throw LuaOptions.error(function, "argument #" + index + " must be code (a string), got " + LuaOptions.describe(v));
        }
        return LuaOptions.utf8(function, "argument #" + index + " (code)", v);
    }

    private static String string(String function, Varargs args, int index, String what) {
        LuaValue v = args.arg(index);
        if (v.type() != LuaValue.TSTRING || v.tojstring().isBlank()) {
            throw LuaOptions.error(function, "argument #" + index + " must be " + what + ", got " + LuaOptions.describe(v));
        }
        return v.tojstring();
    }

    /**
     * A Lua function that runs only on the session's thread, and turns Java exceptions that escape
     * {@code body} into Lua errors naming the function.
     */
    LuaValue function(String functionName, Function<Varargs, Varargs> body) {
        return new VarArgFunction() {
            {
                name = functionName; // LuaJ's own messages ("bad argument ... to 'name'") use it
            }

            @Override
            public Varargs invoke(Varargs args) {
                session.checkThread();
                try {
                    return body.apply(args);
                } catch (LuaError e) {
                    throw e;
                } catch (PoolException e) {
                    throw LuaOptions.error(functionName, LuaTables.message(e));
                } catch (RuntimeException e) {
                    throw LuaOptions.error(functionName, e.getMessage() != null ? e.getMessage() : e.toString());
                }
            }
        };
    }

    String cancelRunning() {
        return waits.cancelAll();
    }

    /** What the script has in flight ({@code 2 jobs}), or null. Any thread. */
    String unfinishedWork() {
        return waits.describeUnfinished();
    }

    /** Lets later waits run after an interrupted one (the REPL calls this before each input). */
    void clearInterrupt() {
        waits.clearInterrupt();
    }

    /** The count hook that lets Ctrl-C stop pure Lua code (a loop that calls no carpo function). */
    LuaValue interruptHook() {
        return function("interrupt", args -> {
            waits.checkInterrupt(null);
            return LuaValue.NONE;
        });
    }

    void close() {
        MetricsEndpoint m = metrics;
        if (m != null) {
            m.close();
        }
    }
}

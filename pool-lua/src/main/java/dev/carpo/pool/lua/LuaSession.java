package dev.carpo.pool.lua;

import dev.carpo.pool.KernelPools;
import dev.carpo.pool.kernel.KernelSpecs;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;
import org.luaj.vm2.lib.jse.JsePlatform;

/**
 * A Lua state with the {@code carpo} module loaded (as the global {@code carpo} and through
 * {@code require("carpo")}), and the kernel pools its scripts create. Closing it shuts every
 * pool and kernel down.
 *
 * <p>LuaJ is not thread-safe, so a session belongs to the thread that created it: every call into
 * Lua happens there, and jobs completing on carpo's threads only complete Java futures, which the
 * script turns into Lua values when it waits. {@link #cancelRunning()} is the one method other
 * threads may call.
 *
 * <p>Example:
 * <pre>{@code
 * try (LuaSession lua = LuaSession.builder().progress(System.err).build()) {
 *     lua.eval("""
 *         carpo.create_pool("python", "python3", {size = 2})
 *         print(carpo.execute_code("6 * 7").result)   -- 42
 *         """, "example");
 * }
 * }</pre>
 */
public final class LuaSession implements AutoCloseable {
    private final Thread owner = Thread.currentThread();
    private final Globals globals;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final KernelPools pools;
    private final CarpoLib carpo;

    private LuaSession(Builder builder) {
        KernelPools.Builder pb = KernelPools.builder().meterRegistry(registry);
        if (builder.specs != null) {
            pb.kernelSpecs(builder.specs);
        }
        if (builder.runtimeDir != null) {
            pb.runtimeDir(builder.runtimeDir);
        }
        pools = pb.build();
        if (builder.progress != null) {
            pools.addListener(new Progress(builder.progress));
        }
        globals = JsePlatform.debugGlobals();
        if (builder.stdout != null) {
            globals.STDOUT = builder.stdout;
        }
        carpo = new CarpoLib(this, pools, registry);
        globals.load(carpo);
        withoutTracebackInPcall(globals);
        // Every 10,000 instructions, a look at the Ctrl-C flag: pure Lua loops stop too.
        globals.get("debug").get("sethook").invoke(LuaValue.varargsOf(carpo.interruptHook(), LuaValue.valueOf(""),
                LuaValue.valueOf(10_000)));
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs a script file with {@code arg} set as the standalone {@code lua} sets it.
     *
     * @return what the script returned
     * @throws LuaError on a compile or run-time error; its message carries the Lua traceback
     * @throws NoSuchFileException when there is no such script
     */
    public Varargs run(Path script, List<String> args) throws IOException {
        checkThread();
        carpo.clearInterrupt();
        if (!Files.isRegularFile(script)) {
            throw new NoSuchFileException(script.toString(), null, "no such Lua script");
        }
        LuaTable arg = new LuaTable();
        arg.set(0, script.toString());
        for (int i = 0; i < args.size(); i++) {
            arg.set(i + 1, args.get(i));
        }
        globals.set("arg", arg);
        LuaValue chunk;
        try (InputStream in = Files.newInputStream(script)) {
            // As typed: "dir/x.lua:12" in syntax errors, run-time errors and tracebacks alike.
            chunk = LuaChunks.load(globals, in, script.toString());
        }
        return chunk.invoke(LuaValue.varargsOf(args.stream().map(LuaValue::valueOf).toArray(LuaValue[]::new)));
    }

    /**
     * Compiles and runs a chunk of Lua.
     *
     * @param chunkName the name errors and tracebacks give the chunk, {@code setup:1: ...} for
     *     {@code "setup"} (a leading {@code =} or {@code @}, LuaJ's conventions, is dropped)
     * @throws LuaError on a compile or run-time error
     */
    public Varargs eval(String code, String chunkName) {
        checkThread();
        carpo.clearInterrupt();
        String name = chunkName.startsWith("=") || chunkName.startsWith("@") ? chunkName.substring(1) : chunkName;
        return LuaChunks.load(globals, code, name).invoke();
    }

    /** Runs a compiled chunk (the REPL compiles first, to tell expressions from statements). */
    Varargs call(LuaValue chunk) {
        checkThread();
        carpo.clearInterrupt();
        return chunk.invoke();
    }

    /** The Lua state, for the REPL's compile checks. Owner thread only. */
    Globals globals() {
        checkThread();
        return globals;
    }

    /** The pools this session's scripts created. */
    public KernelPools pools() {
        return pools;
    }

    /**
     * Cancels every job the script is waiting on or has submitted and not collected (interrupting
     * running kernels), and makes the wait in progress raise "interrupted", as does Lua code that
     * is running (at its next count hook). The next {@link #run} or {@link #eval} starts afresh.
     * Safe from any thread: Ctrl-C handlers call it.
     *
     * @return the message the interrupted code raises: {@code interrupted (Ctrl-C)}, and
     *     {@code ; cancelled 2 jobs} when there were jobs (or pool starts, leases...) to cancel
     */
    public String cancelRunning() {
        return carpo.cancelRunning();
    }

    /** What the script has in flight and not collected, as {@code 2 jobs and 1 pool start}; null when nothing. Any thread. */
    String unfinishedWork() {
        return carpo.unfinishedWork();
    }

    /**
     * Lua runs on the owner thread, or on a LuaJ coroutine thread while the owner waits in
     * {@code coroutine.resume} (LuaJ runs each coroutine on a Java thread of its own, in lockstep).
     */
    void checkThread() {
        if (Thread.currentThread() != owner && globals.running.isMainThread()) {
            throw new LuaError("carpo: this Lua state belongs to thread '" + owner.getName()
                    + "' and was called from '" + Thread.currentThread().getName() + "'; LuaJ states are not thread-safe");
        }
    }

    /** Shuts down the metrics endpoint, then every pool and kernel. */
    @Override
    public void close() {
        carpo.close();
        pools.close();
        registry.close();
    }

    /**
     * With the debug library loaded (for tracebacks), LuaJ appends the whole traceback to the
     * message {@code pcall} returns; scripts expect just the message, as in PUC Lua.
     */
    private static void withoutTracebackInPcall(Globals globals) {
        LuaValue pcall = globals.get("pcall");
        globals.set("pcall", new VarArgFunction() {
            @Override
            public Varargs invoke(Varargs args) {
                Varargs r = pcall.invoke(args);
                if (r.arg1().toboolean() || r.arg(2).type() != LuaValue.TSTRING) {
                    return r;
                }
                return LuaValue.varargsOf(LuaValue.FALSE, LuaValue.valueOf(withoutTraceback(r.arg(2).tojstring())));
            }
        });
    }

    /** A LuaError message without the traceback LuaJ's debug library appends. */
    static String withoutTraceback(String message) {
        int at = message.indexOf("\nstack traceback:");
        return at < 0 ? message : message.substring(0, at);
    }

    /** Builder for {@link LuaSession}. */
    public static final class Builder {
        private Consumer<String> progress;
        private PrintStream stdout;
        private KernelSpecs specs;
        private Path runtimeDir;

        /** Reports each kernel's start (with its start time), death and restart on this stream. */
        public Builder progress(PrintStream err) {
            Objects.requireNonNull(err, "progress");
            this.progress = err::println;
            return this;
        }

        /** As {@link #progress(PrintStream)}, a line at a time (the REPL prints them above its prompt). */
        Builder progressLines(Consumer<String> lines) {
            this.progress = Objects.requireNonNull(lines, "progress");
            return this;
        }

        /** Where Lua's {@code print} writes; standard output by default. */
        public Builder stdout(PrintStream out) {
            this.stdout = Objects.requireNonNull(out, "stdout");
            return this;
        }

        public Builder kernelSpecs(KernelSpecs specs) {
            this.specs = Objects.requireNonNull(specs, "specs");
            return this;
        }

        /** Where connection files go; Jupyter's runtime directory by default. */
        public Builder runtimeDir(Path dir) {
            this.runtimeDir = Objects.requireNonNull(dir, "runtimeDir");
            return this;
        }

        public LuaSession build() {
            return new LuaSession(this);
        }
    }
}

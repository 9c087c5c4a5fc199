package dev.carpo.pool.lua;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.LanguagePool;
import dev.carpo.pool.PoolException;
import dev.carpo.pool.PoolStats;
import dev.carpo.pool.kernel.ExecutionError;
import dev.carpo.pool.kernel.KernelSpec;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

/**
 * Java results as Lua tables, with instances numbered from 1. Called only on the script's thread:
 * building a LuaTable is touching Lua state.
 */
final class LuaTables {
    private LuaTables() {
    }

    /**
     * {@code {status, stdout, stderr, result, data, error = {ename, evalue, traceback}, execution_count,
     * instance, kernel_id, duration_ms, wait_ms}}.
     */
    static LuaTable result(ExecutionResult r) {
        LuaTable t = new LuaTable();
        t.set("status", r.status().name().toLowerCase(Locale.ROOT));
        t.set("stdout", r.stdout());
        t.set("stderr", r.stderr());
        if (r.text() != null) {
            t.set("result", r.text());
        }
        t.set("data", stringMap(r.data()));
        ExecutionError e = r.error();
        if (e != null) {
            LuaTable error = new LuaTable();
            error.set("ename", e.ename());
            error.set("evalue", e.evalue());
            error.set("traceback", list(e.traceback()));
            t.set("error", error);
        }
        t.set("execution_count", r.executionCount());
        t.set("instance", r.instance() + 1);
        t.set("kernel_id", r.kernelId());
        t.set("duration_ms", millis(r.runTime().toNanos()));
        t.set("wait_ms", millis(r.queueWait().toNanos()));
        t.set("truncated", LuaValue.valueOf(r.truncated()));
        t.set("dropped_bytes", r.droppedBytes());
        return t;
    }

    /** The entry {@code wait_all} and {@code map} give a job that failed outside the kernel: {@code {status, message, instance}}. */
    static LuaTable failure(Throwable error) {
        LuaTable t = new LuaTable();
        if (error instanceof PoolException e) {
            t.set("status", e.reason());
            t.set("message", message(e));
            if (e.instance() >= 0) {
                t.set("instance", e.instance() + 1);
            }
        } else {
            t.set("status", "failed");
            t.set("message", String.valueOf(error.getMessage()));
        }
        return t;
    }

    /** A pool failure as Lua users read it: reason first, instances from 1. */
    static String message(PoolException e) {
        return e.reason() + ": pool '" + e.pool() + "'" + (e.instance() >= 0 ? " instance " + (e.instance() + 1) : "")
                + ": " + e.detail();
    }

    /** {@code {language, state, strategy, size, idle, busy, leased, starting, queued, min, max, <counts>, instances = {...}}}. */
    static LuaTable stats(LanguagePool pool) {
        LuaTable t = stats(pool.stats());
        t.set("location", pool.location());
        return t;
    }

    static LuaTable stats(PoolStats s) {
        LuaTable t = new LuaTable();
        t.set("language", s.language());
        t.set("state", s.state().name().toLowerCase(Locale.ROOT));
        t.set("strategy", s.strategy().name().toLowerCase(Locale.ROOT));
        t.set("size", s.size());
        t.set("idle", s.idle());
        t.set("busy", s.busy());
        t.set("leased", s.leased());
        t.set("starting", s.starting());
        t.set("queued", s.queued());
        t.set("min", s.min());
        t.set("max", s.max());
        t.set("submitted", s.submitted());
        t.set("ok", s.ok());
        t.set("errors", s.errors());
        t.set("aborted", s.aborted());
        t.set("timeouts", s.timeouts());
        t.set("cancelled", s.cancelled());
        t.set("rejected", s.rejected());
        t.set("kernel_died", s.kernelDied());
        t.set("memory_limited", s.memoryLimited());
        t.set("kernels_started", s.kernelsStarted());
        t.set("start_failures", s.startFailures());
        t.set("restarts", s.restarts());
        t.set("deaths", s.deaths());
        t.set("retired", s.retired());
        t.set("output_limited", s.outputLimited());
        t.set("memory_limited", s.memoryLimited());
        t.set("leases_leaked", s.leasesLeaked());
        // Why kernels went, by reason: {retirements = {lifetime = 2, ...}, deaths = {crash = 1, ...}}, every reason present.
        LuaTable retirements = new LuaTable();
        LuaTable deaths = new LuaTable();
        s.reasons().forEach((r, n) -> (r.isDeath() ? deaths : retirements).set(r.label(), n));
        t.set("retirements", retirements);
        t.set("death_reasons", deaths);
        if (s.failure() != null) {
            t.set("failure", s.failure());
        }
        LuaTable instances = new LuaTable();
        for (PoolStats.Instance i : s.instances()) {
            LuaTable it = new LuaTable();
            it.set("instance", i.index() + 1);
            if (i.kernelId() != null) {
                it.set("kernel_id", i.kernelId());
            }
            it.set("pid", i.pid());
            it.set("state", i.state().label());
            it.set("queued", i.queued());
            it.set("executions", i.executions());
            it.set("memory_bytes", i.memoryBytes());
            it.set("cpu_seconds", i.cpuSeconds());
            instances.set(instances.length() + 1, it);
        }
        t.set("instances", instances);
        return t;
    }

    /** {@code {name, display_name, language, resource_dir, argv, interrupt_mode}}. */
    static LuaTable kernelSpec(KernelSpec spec) {
        LuaTable t = new LuaTable();
        t.set("name", spec.name());
        t.set("display_name", spec.displayName());
        t.set("language", spec.language());
        if (spec.resourceDir() != null) {
            t.set("resource_dir", spec.resourceDir().toString());
        }
        t.set("argv", list(spec.argv()));
        t.set("interrupt_mode", spec.interruptMode().name().toLowerCase(Locale.ROOT));
        return t;
    }

    static LuaTable list(List<String> items) {
        LuaTable t = new LuaTable();
        for (int i = 0; i < items.size(); i++) {
            t.set(i + 1, LuaValue.valueOf(items.get(i)));
        }
        return t;
    }

    private static LuaTable stringMap(Map<String, String> map) {
        LuaTable t = new LuaTable();
        map.forEach((k, v) -> t.set(k, v == null ? LuaValue.NIL : LuaValue.valueOf(v)));
        return t;
    }

    private static double millis(long nanos) {
        return Math.round(nanos / 1e4) / 100.0;
    }
}

package dev.carpo.pool.lua;

import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.PoolException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaUserdata;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;

/**
 * What {@code carpo.submit} returns: a job's future as Lua userdata with {@code :wait([seconds])},
 * {@code :done()} and {@code :cancel()}. The Java future completes on carpo's threads; the result
 * becomes a Lua table only in {@code :wait()}, on the script's thread.
 */
final class LuaJobFuture {
    private final CompletableFuture<ExecutionResult> future;
    private final String pool;
    private final Duration jobTimeout;
    private final long submittedNanos = System.nanoTime();
    private LuaTable result;

    LuaJobFuture(CompletableFuture<ExecutionResult> future, String pool, Duration jobTimeout) {
        this.future = future;
        this.pool = pool;
        this.jobTimeout = jobTimeout;
    }

    CompletableFuture<ExecutionResult> future() {
        return future;
    }

    /** The longest a wait for this job can take: the rest of its timeout, plus slack. */
    Duration maxWait() {
        Duration left = jobTimeout.minusNanos(System.nanoTime() - submittedNanos);
        return (left.isNegative() ? Duration.ZERO : left).plus(JobWaits.GRACE);
    }

    /** The result table, or the failure entry; the wait must be over. */
    private LuaTable outcome() {
        Throwable error = JobWaits.failure(future, pool);
        return error == null ? result() : LuaTables.failure(error);
    }

    /** The result table; raises a Lua error naming the cause when the job failed outside the kernel. */
    LuaTable resultOrRaise(String function) {
        Throwable error = JobWaits.failure(future, pool);
        if (error != null) {
            throw raise(function, error);
        }
        return result();
    }

    /**
     * Waits for the job as {@code execute_code} does: its result, or a Lua error naming why there is
     * none. Should the wait outlast the job's own timeout (which the pool enforces), the job is cancelled.
     */
    LuaTable awaitResult(JobWaits waits, String function) {
        if (!waits.awaitDone(future, maxWait(), function)) {
            future.cancel(true);
            throw LuaOptions.error(function, "timeout: no result within " + JobWaits.seconds(maxWait()) + "; the job was cancelled");
        }
        return resultOrRaise(function);
    }

    /** Waits as {@code wait_all} and {@code map} do: the result, or the failure entry; never raises for the job. */
    LuaTable awaitOutcome(JobWaits waits, String function) {
        if (!waits.awaitDone(future, maxWait(), function)) {
            future.cancel(true);
            LuaTable t = new LuaTable();
            t.set("status", "timeout");
            t.set("message", "timeout: no result within " + JobWaits.seconds(maxWait()) + "; the job was cancelled");
            return t;
        }
        return outcome();
    }

    private LuaTable result() {
        if (result == null) {
            result = LuaTables.result(future.join());
        }
        return result;
    }

    static LuaError raise(String function, Throwable error) {
        return LuaOptions.error(function, error instanceof PoolException e ? LuaTables.message(e) : String.valueOf(error));
    }

    /** The userdata with its methods, bound to the session's waits. */
    static LuaValue userdata(LuaJobFuture f, LuaTable metatable) {
        return new LuaUserdata(f, metatable);
    }

    /** The metatable every future shares. */
    static LuaTable metatable(CarpoLib lib, JobWaits waits) {
        LuaTable methods = new LuaTable();
        methods.set("wait", lib.function("future:wait", args -> {
            LuaJobFuture f = self(args, "wait");
            Duration max = args.arg(2).isnil() ? f.maxWait() : LuaOptions.checkSeconds("future:wait", "timeout", args.arg(2));
            if (!waits.awaitDone(f.future, max, "future:wait")) {
                throw LuaOptions.error("future:wait", "no result within " + JobWaits.seconds(max)
                        + "; the job is still running (wait again, or cancel it with :cancel())");
            }
            return f.resultOrRaise("future:wait");
        }));
        methods.set("done", lib.function("future:done", args -> LuaValue.valueOf(self(args, "done").future.isDone())));
        methods.set("cancel", lib.function("future:cancel", args -> LuaValue.valueOf(self(args, "cancel").future.cancel(true))));
        LuaTable meta = new LuaTable();
        meta.set(LuaValue.INDEX, methods);
        meta.set("__name", "carpo.future");
        meta.set(LuaValue.TOSTRING, lib.function("future:__tostring", args -> {
            LuaJobFuture f = self(args, "tostring");
            return LuaValue.valueOf("carpo.future(" + f.pool + ", " + (f.future.isDone() ? "done" : "pending") + ")");
        }));
        return meta;
    }

    private static LuaJobFuture self(Varargs args, String method) {
        LuaValue self = args.arg1();
        if (!self.isuserdata(LuaJobFuture.class)) {
            throw LuaOptions.error("future:" + method, "call it with a colon, as f:" + method + "(), on a future from carpo.submit");
        }
        return (LuaJobFuture) self.touserdata(LuaJobFuture.class);
    }
}

package dev.carpo.pool.lua;

import dev.carpo.pool.ExecuteOptions;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.KernelLease;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaUserdata;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;

/**
 * What {@code carpo.lease} returns: one instance for exclusive, stateful use, with
 * {@code :execute(code [, {timeout}])}, {@code :release()}, and the fields {@code instance}
 * (from 1) and {@code kernel_id}.
 */
final class LuaLease {
    private LuaLease() {
    }

    static LuaValue userdata(KernelLease lease, LuaTable metatable) {
        return new LuaUserdata(lease, metatable);
    }

    static LuaTable metatable(CarpoLib lib, JobWaits waits) {
        LuaTable methods = new LuaTable();
        methods.set("execute", lib.function("lease:execute", args -> {
            KernelLease lease = self(args, "execute");
            String code = CarpoLib.code("lease:execute", args, 2);
            LuaOptions o = LuaOptions.of("lease:execute", args, 3, List.of("timeout"));
            Duration timeout = o.has("timeout") ? o.seconds("timeout") : lease.pool().options().defaultTimeout();
            CompletableFuture<ExecutionResult> f;
            try {
                f = waits.track(lease.submit(code, ExecuteOptions.builder().timeout(timeout).build()));
            } catch (IllegalStateException released) {
                throw LuaOptions.error("lease:execute", "the lease on pool '" + lease.pool().language() + "' instance "
                        + (lease.instance() + 1) + " was released");
            }
            return new LuaJobFuture(f, lease.pool().language(), timeout).awaitResult(waits, "lease:execute");
        }));
        methods.set("release", lib.function("lease:release", args -> {
            self(args, "release").close();
            return LuaValue.NONE;
        }));
        LuaTable meta = new LuaTable();
        meta.set(LuaValue.INDEX, lib.function("lease:__index", args -> {
            KernelLease lease = (KernelLease) args.arg1().touserdata(KernelLease.class);
            return switch (args.arg(2).tojstring()) {
                case "instance" -> LuaValue.valueOf(lease.instance() + 1);
                case "kernel_id" -> LuaValue.valueOf(lease.kernelId());
                case "language" -> LuaValue.valueOf(lease.pool().language());
                default -> methods.get(args.arg(2));
            };
        }));
        meta.set("__name", "carpo.lease");
        meta.set(LuaValue.TOSTRING, lib.function("lease:__tostring", args -> {
            KernelLease lease = self(args, "tostring");
            return LuaValue.valueOf("carpo.lease(" + lease.pool().language() + "[" + (lease.instance() + 1) + "])");
        }));
        return meta;
    }

    private static KernelLease self(Varargs args, String method) {
        LuaValue self = args.arg1();
        if (!self.isuserdata(KernelLease.class)) {
            throw LuaOptions.error("lease:" + method, "call it with a colon, as l:" + method + "(...), on a lease from carpo.lease");
        }
        return (KernelLease) self.touserdata(KernelLease.class);
    }
}

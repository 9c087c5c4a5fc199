package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.Varargs;

/**
 * LuaJ is not thread-safe: jobs complete on carpo's threads, and only the script's thread may touch
 * Lua state. These tests load that boundary while the script thread is busy in Lua.
 */
class LuaThreadingTest {
    @TempDir
    static Path runtimeDir;
    static LuaSession lua;

    @BeforeAll
    static void start() {
        lua = LuaSession.builder().runtimeDir(runtimeDir).build();
        lua.eval("carpo.create_pool('python', 'python3', {size = 2})", "=setup");
    }

    @AfterAll
    static void stop() {
        lua.close();
    }

    @Test
    void completionsOnOtherThreadsLeaveLuaStateToTheScriptThread() {
        // 200 jobs complete on carpo's threads while the script thread churns Lua tables (a LuaJ
        // state touched from two threads corrupts tables or throws); then every result is intact.
        Varargs r = lua.eval("""
                local futures = {}
                for i = 1, 200 do futures[i] = carpo.submit(tostring(i) .. " * 3") end
                local garbage, done = {}, 0
                while done < 200 do
                  done = 0
                  for i = 1, 200 do if futures[i]:done() then done = done + 1 end end
                  for k = 1, 500 do garbage[k % 97] = {k, tostring(k), {k}} end
                end
                local results = carpo.wait_all(futures)
                for i = 1, 200 do
                  assert(results[i].result == tostring(i * 3), "result " .. i .. " was " .. tostring(results[i].result))
                end
                return #results, results[200].result
                """, "=churn");
        assertThat(r.arg(1).toint()).isEqualTo(200);
        assertThat(r.arg(2).tojstring()).isEqualTo("600");
    }

    @Test
    void aResultBecomesLuaOnlyWhenTheScriptWaitsForIt() {
        lua.eval("pending = carpo.submit('7 * 6')", "=submit");
        LuaJobFuture f = (LuaJobFuture) lua.eval("return pending", "=get").arg1().touserdata(LuaJobFuture.class);
        f.future().join(); // completed on a carpo thread
        assertThat(f).extracting("result").as("no Lua table built off the script thread").isNull();
        assertThat(lua.eval("return pending:wait().result", "=wait").arg1().tojstring()).isEqualTo("42");
        assertThat(f).extracting("result").isNotNull();
    }

    @Test
    void anotherThreadCallingIntoTheSessionGetsAClearError() throws Exception {
        CompletableFuture<Varargs> fromElsewhere = CompletableFuture.supplyAsync(() -> lua.eval("return 1", "=other"));
        assertThatThrownBy(() -> fromElsewhere.get(10, TimeUnit.SECONDS))
                .cause().isInstanceOf(LuaError.class)
                .hasMessageContaining("this Lua state belongs to thread")
                .hasMessageContaining("LuaJ states are not thread-safe");
        // cancelRunning is the one method for other threads (Ctrl-C handlers).
        lua.eval("long = carpo.submit('import time; time.sleep(60)')", "=long");
        CompletableFuture.runAsync(lua::cancelRunning).get(10, TimeUnit.SECONDS);
        assertThat(lua.eval("local ok, e = pcall(function() local r = long:wait() return r end) return e", "=cancelled")
                .arg1().tojstring()).contains("future:wait: cancelled");
        assertThat(lua.eval("return carpo.execute_code('1 + 1').result", "=after").arg1().tojstring()).isEqualTo("2");
    }

    @Test
    void coroutinesMayCallCarpo() {
        // LuaJ runs each coroutine on a Java thread of its own, in lockstep with the script's thread.
        Varargs r = lua.eval("""
                local co = coroutine.wrap(function()
                  local f = carpo.submit("6 * 7")
                  coroutine.yield("submitted")
                  return f:wait().result
                end)
                return co(), co()
                """, "=coroutine");
        assertThat(r.arg(1).tojstring()).isEqualTo("submitted");
        assertThat(r.arg(2).tojstring()).isEqualTo("42");
    }

    @Test
    void cancelRunningStopsPureLuaToo() throws Exception {
        // Ctrl-C again and again until the loop ends: eval forgets a cancel that came before it started.
        java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
        CompletableFuture<Void> ctrlC = CompletableFuture.runAsync(() -> org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(30)).pollInterval(java.time.Duration.ofMillis(100)).until(() -> {
                    if (!ended.get()) {
                        lua.cancelRunning();
                    }
                    return ended.get();
                }));
        try {
            // Kernels are up but no job runs: nothing but the Lua was stopped, and the message says no more.
            assertThatThrownBy(() -> lua.eval("local n = 0 while true do n = n + 1 end", "=spin"))
                    .isInstanceOfSatisfying(LuaError.class, e -> assertThat(LuaErrors.message(e)).isEqualTo("spin:1: interrupted (Ctrl-C)"));
        } finally {
            ended.set(true);
        }
        ctrlC.get(10, TimeUnit.SECONDS);
        assertThat(lua.eval("return 1 + 1", "=after").arg1().toint()).isEqualTo(2); // the next evaluation starts afresh
    }
}

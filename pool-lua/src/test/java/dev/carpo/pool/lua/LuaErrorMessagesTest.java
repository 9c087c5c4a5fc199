package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.luaj.vm2.LuaError;

/**
 * Errors name a chunk as the user does, {@code dir/x.lua:3: ...} in a script and {@code stdin:1: ...}
 * at the prompt, alike for syntax and run-time errors (LuaJ on its own writes
 * {@code [string "x.lua"]:3:} for one and {@code =stdin:1} for the other).
 */
class LuaErrorMessagesTest {
    @TempDir
    Path tmp;
    private LuaSession lua;

    @BeforeEach
    void start() {
        lua = LuaSession.builder().runtimeDir(tmp.resolve("runtime")).build();
    }

    @AfterEach
    void stop() {
        lua.close();
    }

    private LuaError runScript(String relative, String code) throws Exception {
        Path script = tmp.resolve(relative);
        Files.createDirectories(script.getParent());
        Files.writeString(script, code);
        return catchThrowableOfType(() -> lua.run(script, List.of()), LuaError.class);
    }

    @Test
    void aSyntaxErrorNamesTheScriptAsARunTimeErrorDoes() throws Exception {
        LuaError syntax = runScript("dir/syn.lua", "local x = 1\nlocal function f()\n  while true\n    x = x + 1\n  end\nend\n");
        assertThat(LuaErrors.message(syntax)).isEqualTo(tmp.resolve("dir/syn.lua") + ":4: 'do' expected");

        LuaError runtime = runScript("dir/rt.lua", "local t = nil\nlocal function f()\n  return t.x + 1\nend\nprint(f())\n");
        assertThat(LuaErrors.message(runtime)).isEqualTo(tmp.resolve("dir/rt.lua") + ":3: attempt to index ? (a nil value)");
        assertThat(LuaErrors.withTraceback(runtime)).startsWith(LuaErrors.message(runtime) + "\nstack traceback:\n")
                .contains("\t" + tmp.resolve("dir/rt.lua") + ":3: in function 'f'", "\t" + tmp.resolve("dir/rt.lua") + ":5: in main chunk");

        LuaError raised = runScript("err.lua", "\n\nerror('boom')\n");
        assertThat(LuaErrors.message(raised)).isEqualTo(tmp.resolve("err.lua") + ":3: boom");
    }

    @Test
    void scriptsStillSeeLuaJsOwnMessagesThroughPcall() throws Exception {
        Path script = Files.writeString(tmp.resolve("pc.lua"), "local ok, e = pcall(function() local t = nil return t.x end)\nreturn e, debug.getinfo(1).short_src\n");
        var r = lua.run(script, List.of());
        assertThat(r.arg(1).tojstring()).isEqualTo(script + ":1 attempt to index ? (a nil value)");
        assertThat(r.arg(2).tojstring()).isEqualTo(script.toString());
    }

    @Test
    void evalNamesItsChunkAsGivenWithoutLuaJsPrefixes() {
        LuaError syntax = catchThrowableOfType(() -> lua.eval("for", "setup"), LuaError.class);
        assertThat(LuaErrors.message(syntax)).isEqualTo("setup:1: '<name>' expected");
        LuaError runtime = catchThrowableOfType(() -> lua.eval("\nlocal x = nil + 1", "=setup"), LuaError.class);
        assertThat(LuaErrors.message(runtime)).isEqualTo("setup:2: attempt to perform arithmetic __add on nil and number");
    }

    @Test
    void theReplSaysStdinAsTheStandaloneLuaDoes() {
        var globals = lua.globals();
        LuaError syntax = catchThrowableOfType(() -> LuaRepl.compile(globals, "x = = 1"), LuaError.class);
        assertThat(LuaErrors.message(syntax)).isEqualTo("stdin:1: unexpected symbol 61 (=)"); // LuaJ names the token by its code
        LuaError runtime = catchThrowableOfType(() -> lua.call(LuaRepl.compile(globals, "nosuch.field")), LuaError.class);
        assertThat(LuaErrors.message(runtime)).isEqualTo("stdin:1: attempt to index ? (a nil value)");
        LuaError commented = catchThrowableOfType(() -> lua.call(LuaRepl.compile(globals, "nosuch.field -- a comment")), LuaError.class);
        assertThat(LuaErrors.message(commented)).startsWith("stdin:");
        assertThat(lua.call(LuaRepl.compile(globals, "6 * 7 -- the answer")).arg1().toint()).isEqualTo(42);
        LuaError misuse = catchThrowableOfType(() -> lua.call(LuaRepl.compile(globals, "carpo.execute_code('1')")), LuaError.class);
        assertThat(LuaErrors.message(misuse)).startsWith("stdin:1: execute_code: there is no pool yet");
    }

    @Test
    void theReplWaitsForTheRestOfAnUnfinishedExpression() {
        var globals = lua.globals();
        assertThat(LuaRepl.incomplete(globals, "1 +")).isTrue();
        assertThat(LuaRepl.incomplete(globals, "for i = 1, 3 do")).isTrue();
        assertThat(LuaRepl.incomplete(globals, "x = = 1")).isFalse();
        assertThat(LuaRepl.incomplete(globals, "1 + 1")).isFalse();
        assertThat(LuaRepl.incomplete(globals, "x = 1")).isFalse();
    }
}

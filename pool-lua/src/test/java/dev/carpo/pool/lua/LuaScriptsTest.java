package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.luaj.vm2.LuaError;

/**
 * Runs every Lua test script in {@code src/test/lua} in a fresh session against real kernels; a
 * script fails by raising (see {@code testing.lua}). When the session closes, every kernel it
 * started must be gone.
 */
class LuaScriptsTest {
    static final Path SCRIPTS = Path.of("src/test/lua");

    @TempDir
    Path runtimeDir;

    @TestFactory
    Stream<DynamicTest> luaScripts() throws IOException {
        List<Path> scripts;
        try (Stream<Path> files = Files.list(SCRIPTS)) {
            scripts = files.filter(p -> p.toString().endsWith(".lua") && !p.getFileName().toString().equals("testing.lua"))
                    .sorted().toList();
        }
        assertThat(scripts).extracting(p -> p.getFileName().toString())
                .contains("execute_code.lua", "futures.lua", "pools.lua", "misuse.lua");
        return scripts.stream().map(script -> DynamicTest.dynamicTest(script.getFileName().toString(), () -> run(script)));
    }

    private void run(Path script) throws IOException {
        List<ProcessHandle> kernels;
        try (LuaSession lua = LuaSession.builder().runtimeDir(runtimeDir).build()) {
            lua.eval("package.path = '" + SCRIPTS + "/?.lua;' .. package.path", "=setup");
            try {
                lua.run(script, List.of());
            } catch (LuaError e) {
                fail(script + " failed:\n" + e.getMessage());
            } finally {
                kernels = TestProcesses.kernelsOf(lua);
            }
        }
        assertThat(kernels).as("kernels of %s after close", script).noneMatch(ProcessHandle::isAlive);
    }
}

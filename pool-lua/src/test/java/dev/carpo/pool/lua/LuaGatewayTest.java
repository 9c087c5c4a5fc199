package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpo.pool.kernel.GatewayClient;
import dev.carpo.pool.kernel.JupyterServer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.Varargs;

/** {@code carpo.create_pool(lang, spec, {gateway = …, token = …})} against a real Jupyter Server on loopback. */
class LuaGatewayTest {
    @TempDir
    static Path dir;
    static JupyterServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = JupyterServer.start(dir.resolve("server"));
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @Test
    void aScriptRunsAPoolOnTheGatewayBesideALocalOne() {
        try (LuaSession lua = LuaSession.builder().runtimeDir(dir).build();
             GatewayClient client = GatewayClient.create(server.gateway())) {
            lua.eval("GW, TOKEN = '" + server.url() + "', '" + server.token() + "'", "=setup");
            Varargs out = lua.eval("""
                    local s = carpo.create_pool("python", "python3", {size = 2, gateway = GW, token = TOKEN})
                    assert(s.location == GW:match("//([^/]+)"), s.location)
                    carpo.create_pool("local", "python3", {size = 1})
                    local r = carpo.execute_code("import os; os.getpid()", {language = "python", instance = 2})
                    assert(r.status == "ok" and r.instance == 2, r.status)
                    local results = carpo.map("python", {"1 + 1", "2 + 2", "3 + 3", "4 + 4"})
                    for i, x in ipairs(results) do assert(x.result == tostring(2 * i), x.result) end
                    assert(carpo.execute_code("6 * 7", {language = "local"}).result == "42")
                    assert(carpo.pool_stats("local").location == "local")
                    return carpo.pool_stats("python").size, #carpo.list_pools()
                    """, "=gateway");
            assertThat(out.arg(1).toint()).isEqualTo(2);
            assertThat(out.arg(2).toint()).isEqualTo(2);
            assertThat(client.kernels()).hasSize(2);
        }
        try (GatewayClient client = GatewayClient.create(server.gateway())) {
            assertThat(client.kernels()).as("remote kernels after the session closed").isEmpty();
        }
    }

    @Test
    void gatewayMisuseIsALuaErrorNamingTheProblem() {
        try (LuaSession lua = LuaSession.builder().runtimeDir(dir).build()) {
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', 'python3', {token = 'x'})", "=misuse"))
                    .isInstanceOf(LuaError.class).hasMessageContaining("option 'token' is for a gateway");
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', 'python3', {gateway = 'ftp://h'})", "=misuse"))
                    .isInstanceOf(LuaError.class).hasMessageContaining("option 'gateway' must be an http:// or https:// URL");
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', nil, {gateway = '" + server.url() + "'})", "=misuse"))
                    .isInstanceOf(LuaError.class).hasMessageContaining("name the server's kernelspec");
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', 'python3', {gateway = '" + server.url() + "', token = 'bad'})",
                    "=misuse")).isInstanceOf(LuaError.class).hasMessageContaining("403").hasMessageContaining(server.url().toString());
            assertThat(lua.pools().pools()).isEmpty();
        }
    }
}

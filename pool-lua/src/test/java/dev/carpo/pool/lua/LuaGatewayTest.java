package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.carpo.pool.kernel.GatewayClient;
import dev.carpo.pool.kernel.JupyterServer;
import dev.carpo.pool.kernel.SelfSignedCert;
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

    @Test
    void caCertTrustsASelfSignedHttpsGatewayWithoutJvmOptions() throws Exception {
        SelfSignedCert.requireOpenssl();
        SelfSignedCert cert = SelfSignedCert.make(dir.resolve("tls-cert"), "127.0.0.1", "IP:127.0.0.1");
        try (JupyterServer tls = JupyterServer.startTls(dir.resolve("tls-server"), cert.certFile(), cert.keyFile());
             LuaSession lua = LuaSession.builder().runtimeDir(dir).build()) {
            lua.eval("GW, TOKEN, CA = '" + tls.url() + "', '" + tls.token() + "', '" + cert.certFile() + "'", "=setup");
            // No trust at all: the JDK's default trust store does not know a certificate made a moment ago.
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', 'python3', {size = 1, gateway = GW, token = TOKEN})", "=untrusted"))
                    .isInstanceOf(LuaError.class).hasMessageContaining("gateway " + tls.url() + ": TLS certificate not trusted")
                    .hasMessageContaining("ca_cert in Lua").hasMessageNotContaining(tls.token());
            Varargs out = lua.eval("""
                    carpo.create_pool("python", "python3", {size = 1, gateway = GW, token = TOKEN, ca_cert = CA})
                    return carpo.execute_code("print(6*7)").stdout
                    """, "=trusted");
            assertThat(out.arg1().tojstring()).isEqualTo("42\n");
            lua.eval("carpo.shutdown_pool('python')", "=close");
            try (GatewayClient client = GatewayClient.create(tls.gateway(SelfSignedCert.sslContext(
                    SelfSignedCert.trustStore(java.util.List.of(cert)))))) {
                assertThat(client.kernels()).as("kernels left on the TLS server").isEmpty();
            }
        }
    }

    @Test
    void caCertMisuseIsALuaErrorNamingTheProblem() {
        try (LuaSession lua = LuaSession.builder().runtimeDir(dir).build()) {
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', 'python3', {ca_cert = 'c.pem'})", "=misuse"))
                    .isInstanceOf(LuaError.class).hasMessageContaining("option 'ca_cert' is for a gateway; give 'gateway' too");
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', 'python3', {gateway = '" + server.url() + "', ca_cert = 'c.pem'})",
                    "=misuse")).isInstanceOf(LuaError.class).hasMessageContaining("option 'ca_cert' is for an https:// gateway");
            Path missing = dir.resolve("missing.pem");
            assertThatThrownBy(() -> lua.eval("carpo.create_pool('python', 'python3', {gateway = 'https://127.0.0.1:1', ca_cert = '"
                    + missing + "'})", "=misuse")).isInstanceOf(LuaError.class)
                    .hasMessageContaining("option 'ca_cert': certificate file " + missing + " does not exist");
            assertThat(lua.pools().pools()).isEmpty();
        }
    }
}

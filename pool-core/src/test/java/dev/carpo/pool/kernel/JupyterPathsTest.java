package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data path in jupyter_core's order, with fake virtualenvs and conda prefixes, and checked
 * against the real {@code jupyter --paths --json} of Debian's jupyter_core.
 */
class JupyterPathsTest {
    private static final String KERNEL = """
            {"argv": ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "%s", "language": "python"}""";

    @TempDir
    Path tmp;

    /** A prefix with {@code bin/python3} (a script) and, if {@code spec} is given, {@code share/jupyter/kernels/<spec>}. */
    private Path prefix(String name, String spec, boolean venv) throws IOException {
        Path prefix = tmp.resolve(name);
        Path python = Files.createDirectories(prefix.resolve("bin")).resolve("python3");
        Files.writeString(python, "#!/bin/sh\nexit 0\n");
        python.toFile().setExecutable(true);
        if (venv) {
            Files.writeString(prefix.resolve("pyvenv.cfg"), "home = /usr/bin\ninclude-system-site-packages = false\n");
        }
        if (spec != null) {
            Path dir = Files.createDirectories(prefix.resolve("share/jupyter/kernels").resolve(spec));
            Files.writeString(dir.resolve("kernel.json"), KERNEL.formatted(name));
        }
        return prefix;
    }

    private JupyterPaths paths(Map<String, String> env) {
        Map<String, String> all = new HashMap<>(Map.of("HOME", tmp.resolve("home").toString(), "PATH", "/usr/bin:/bin"));
        all.putAll(env);
        all.values().removeIf(String::isEmpty);
        return new JupyterPaths(all, Path.of("/not-the-home"));
    }

    private List<String> origins(JupyterPaths p) {
        return p.searchDirs().stream().map(d -> d.dir() + " " + d.origin()).toList();
    }

    @Test
    void homeComesFromTheEnvironmentNotUserHome() {
        JupyterPaths p = paths(Map.of());
        assertThat(p.userDataDir()).isEqualTo(tmp.resolve("home/.local/share/jupyter"));
        assertThat(new JupyterPaths(Map.of(), Path.of("/fallback")).userDataDir()).isEqualTo(Path.of("/fallback/.local/share/jupyter"));
        assertThat(paths(Map.of("XDG_DATA_HOME", "/xdg")).userDataDir()).isEqualTo(Path.of("/xdg/jupyter"));
        assertThat(paths(Map.of("XDG_DATA_HOME", "/xdg", "JUPYTER_DATA_DIR", "/jd")).userDataDir()).isEqualTo(Path.of("/jd"));
    }

    @Test
    void aVirtualenvsKernelsAreFoundAndComeBeforeTheUsersByDefault() throws IOException {
        Path venv = prefix("venv", "venv-only", true);
        spec(tmp.resolve("home/.local/share/jupyter"), "venv-only", "user copy");
        JupyterPaths p = paths(Map.of("VIRTUAL_ENV", venv.toString(), "PATH", venv.resolve("bin") + ":/usr/bin"));
        assertThat(origins(p)).containsExactly(
                venv.resolve("share/jupyter") + " env (VIRTUAL_ENV)",
                tmp.resolve("home/.local/share/jupyter") + " user",
                "/usr/local/share/jupyter system", "/usr/share/jupyter system");
        KernelSpecs specs = new KernelSpecs(p);
        assertThat(specs.locate().get("venv-only"))
                .isEqualTo(new KernelSpecs.Located(venv.resolve("share/jupyter/kernels/venv-only"), "env (VIRTUAL_ENV)"));
        assertThat(specs.find("venv-only").displayName()).isEqualTo("venv");

        // JUPYTER_PREFER_ENV_PATH=0 puts the user first again; the spec then comes from the user's dir.
        JupyterPaths userFirst = paths(Map.of("VIRTUAL_ENV", venv.toString(), "JUPYTER_PREFER_ENV_PATH", "off"));
        assertThat(userFirst.preferEnvironmentOverUser()).isFalse();
        assertThat(new KernelSpecs(userFirst).find("venv-only").displayName()).isEqualTo("user copy");
    }

    @Test
    void theActivatedVirtualenvIsFoundFromPathAlone() throws IOException {
        Path venv = prefix("venv2", "from-path", true);
        JupyterPaths p = paths(Map.of("PATH", venv.resolve("bin") + ":/usr/bin"));
        assertThat(origins(p)).first().isEqualTo(venv.resolve("share/jupyter") + " env (python3 on PATH)");
        assertThat(new KernelSpecs(p).locate()).containsKey("from-path");
    }

    @Test
    void condaPrefixesOrderByEnvironmentName() throws IOException {
        Path conda = prefix("conda-env", "conda-kernel", false);
        JupyterPaths named = paths(Map.of("CONDA_PREFIX", conda.toString(), "CONDA_DEFAULT_ENV", "science"));
        assertThat(named.preferEnvironmentOverUser()).isTrue();
        assertThat(origins(named)).first().isEqualTo(conda.resolve("share/jupyter") + " env (CONDA_PREFIX)");
        assertThat(new KernelSpecs(named).locate().get("conda-kernel").origin()).isEqualTo("env (CONDA_PREFIX)");

        // The base environment keeps the user's dirs first, as jupyter_core does.
        JupyterPaths base = paths(Map.of("CONDA_PREFIX", conda.toString(), "CONDA_DEFAULT_ENV", "base"));
        assertThat(base.preferEnvironmentOverUser()).isFalse();
        assertThat(origins(base)).containsSubsequence(
                tmp.resolve("home/.local/share/jupyter") + " user", conda.resolve("share/jupyter") + " env (CONDA_PREFIX)");
        // ... unless JUPYTER_PREFER_ENV_PATH says otherwise (any value but no, n, false, off, 0, 0.0).
        assertThat(paths(Map.of("CONDA_PREFIX", conda.toString(), "JUPYTER_PREFER_ENV_PATH", "yes")).preferEnvironmentOverUser()).isTrue();
    }

    @Test
    void jupyterPathComesFirstAndDuplicatesKeepTheirFirstPlace() {
        JupyterPaths p = paths(Map.of("JUPYTER_PATH", "/a:/usr/share/jupyter::/b/", "XDG_DATA_HOME", "/xdg"));
        assertThat(origins(p)).containsExactly("/a JUPYTER_PATH", "/usr/share/jupyter JUPYTER_PATH", "/b JUPYTER_PATH",
                "/xdg/jupyter user", tmp.resolve("home/.local/share/jupyter") + " user site", "/usr/local/share/jupyter system");
    }

    @Test
    void aSystemPythonAddsNoEnvironmentDir() {
        // /usr/bin/python3's prefix is /usr, whose share/jupyter is a system dir: listed once, as system.
        JupyterPaths p = paths(Map.of("PATH", "/usr/bin:/bin"));
        assertThat(origins(p)).containsExactly(tmp.resolve("home/.local/share/jupyter") + " user",
                "/usr/local/share/jupyter system", "/usr/share/jupyter system");
    }


    /** jupyter_core 5's {@code JUPYTER_PLATFORM_DIRS}: the system dirs come from {@code $XDG_DATA_DIRS}, as platformdirs reads it. */
    @Test
    void platformDirsTakeTheSystemDirsFromXdgDataDirs() {
        String user = tmp.resolve("home/.local/share/jupyter") + " user";
        assertThat(origins(paths(Map.of("JUPYTER_PLATFORM_DIRS", "1", "XDG_DATA_DIRS", "/opt/site:/usr/share:/opt/site/"))))
                .containsExactly(user, "/opt/site/jupyter system", "/usr/share/jupyter system");
        assertThat(origins(paths(Map.of("JUPYTER_PLATFORM_DIRS", "yes", "XDG_DATA_DIRS", " "))))
                .containsExactly(user, "/usr/local/share/jupyter system", "/usr/share/jupyter system");
        // /usr/bin/python3's /usr/share/jupyter is no system dir here, so it is the environment's.
        assertThat(origins(paths(Map.of("JUPYTER_PLATFORM_DIRS", "on", "XDG_DATA_DIRS", "/opt/site"))))
                .containsExactly(user, "/usr/share/jupyter env (python3 on PATH)", "/opt/site/jupyter system");
        assertThat(origins(paths(Map.of("JUPYTER_PLATFORM_DIRS", "off", "XDG_DATA_DIRS", "/opt/site"))))
                .containsExactly(user, "/usr/local/share/jupyter system", "/usr/share/jupyter system");
    }
    /** The machine's own jupyter_core, in a real virtualenv, says the same as carpo, with the preference given both ways. */
    @Test
    void matchesJupyterPathsOfTheRealJupyterCore() throws Exception {
        Prerequisites.requirePythonModule("jupyter_core", "python3-jupyter-core");
        Path venv = tmp.resolve("real-venv");
        Process make = new ProcessBuilder("/usr/bin/python3", "-m", "venv", "--without-pip", "--system-site-packages", venv.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Prerequisites.require(make.waitFor(60, TimeUnit.SECONDS) && make.exitValue() == 0, "python3 -m venv", "python3-venv");
        List<Map<String, String>> cases = List.of(
                Map.of("PATH", "/usr/bin:/bin"),
                Map.of("PATH", "/usr/bin:/bin", "XDG_DATA_HOME", tmp.resolve("xdg").toString(), "JUPYTER_PATH", "/opt/a:/opt/b"),
                Map.of("PATH", "/usr/bin:/bin", "JUPYTER_DATA_DIR", tmp.resolve("jd").toString()),
                Map.of("PATH", venv.resolve("bin") + ":/usr/bin:/bin", "VIRTUAL_ENV", venv.toString(), "JUPYTER_PREFER_ENV_PATH", "1"),
                Map.of("PATH", venv.resolve("bin") + ":/usr/bin:/bin", "VIRTUAL_ENV", venv.toString(), "JUPYTER_PREFER_ENV_PATH", "0"));
        for (Map<String, String> env : cases) {
            Map<String, String> full = new HashMap<>(env);
            full.put("HOME", tmp.resolve("home").toString());
            ProcessBuilder pb = new ProcessBuilder("python3", "-m", "jupyter", "--paths", "--json");
            // The python3 on this case's PATH, as a shell would pick it.
            pb.command().set(0, env.get("PATH").startsWith(venv.toString()) ? venv.resolve("bin/python3").toString() : "/usr/bin/python3");
            pb.environment().clear();
            pb.environment().putAll(full);
            Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            JsonNode json = new ObjectMapper().readTree(out);
            LinkedHashSet<Path> jupyters = new LinkedHashSet<>();
            json.path("data").forEach(n -> jupyters.add(Path.of(n.asText()).normalize()));
            assertThat(new JupyterPaths(full, Path.of("/unused")).dataPath()).as("for %s", env)
                    .containsExactlyElementsOf(new ArrayList<>(jupyters));
        }
    }

    private static void spec(Path dataDir, String name, String display) throws IOException {
        Path dir = Files.createDirectories(dataDir.resolve("kernels").resolve(name));
        Files.writeString(dir.resolve("kernel.json"), KERNEL.formatted(display));
    }
}

package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelSpecsTest {
    @TempDir
    Path tmp;

    private Path spec(Path dataDir, String name, String json) throws IOException {
        Path dir = Files.createDirectories(dataDir.resolve("kernels").resolve(name));
        Files.writeString(dir.resolve("kernel.json"), json);
        return dir;
    }

    private static final String GOOD = """
            {"argv": ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
             "display_name": "Py", "language": "python", "env": {"A": "1"},
             "interrupt_mode": "message", "metadata": {"debugger": true}}""";

    @Test
    void searchPathFollowsJupyterOrder() {
        JupyterPaths paths = new JupyterPaths(Map.of("JUPYTER_PATH", "/a:/b", "XDG_DATA_HOME", "/xdg"), Path.of("/home/u"));
        assertThat(new KernelSpecs(paths).searchPath()).containsExactly(
                Path.of("/a/kernels"), Path.of("/b/kernels"), Path.of("/xdg/jupyter/kernels"),
                Path.of("/home/u/.local/share/jupyter/kernels"), // Python's user site, as jupyter_core adds it
                Path.of("/usr/local/share/jupyter/kernels"), Path.of("/usr/share/jupyter/kernels"));

        JupyterPaths dataDir = new JupyterPaths(Map.of("JUPYTER_DATA_DIR", "/d", "XDG_DATA_HOME", "/xdg"), Path.of("/home/u"));
        assertThat(dataDir.userDataDir()).isEqualTo(Path.of("/d"));
        assertThat(dataDir.runtimeDir()).isEqualTo(Path.of("/d/runtime"));
        JupyterPaths plain = new JupyterPaths(Map.of(), Path.of("/home/u"));
        assertThat(plain.userDataDir()).isEqualTo(Path.of("/home/u/.local/share/jupyter"));
        assertThat(new JupyterPaths(Map.of("JUPYTER_RUNTIME_DIR", "/r"), Path.of("/h")).runtimeDir()).isEqualTo(Path.of("/r"));
    }

    @Test
    void parsesEveryFieldAndEarlierEntriesWin() throws IOException {
        Path first = tmp.resolve("first");
        Path second = tmp.resolve("second");
        spec(first, "Mine", GOOD);
        spec(second, "mine", GOOD.replace("\"Py\"", "\"Other\""));
        spec(second, "only-second", GOOD);
        KernelSpecs specs = new KernelSpecs(new JupyterPaths(Map.of("JUPYTER_PATH", first + ":" + second), tmp.resolve("home")));

        assertThat(specs.list()).containsKeys("mine", "only-second");
        KernelSpec s = specs.find("MINE");
        assertThat(s.displayName()).isEqualTo("Py");
        assertThat(s.name()).isEqualTo("mine");
        assertThat(s.resourceDir()).isEqualTo(first.resolve("kernels/Mine"));
        assertThat(s.argv()).containsExactly("python3", "-m", "ipykernel_launcher", "-f", "{connection_file}");
        assertThat(s.language()).isEqualTo("python");
        assertThat(s.env()).containsEntry("A", "1");
        assertThat(s.interruptMode()).isEqualTo(InterruptMode.MESSAGE);
        assertThat(s.metadata().get("debugger").asBoolean()).isTrue();
    }

    @Test
    void resolvesNameDirectoryOrKernelJson() throws IOException {
        Path dir = spec(tmp, "k", GOOD);
        KernelSpecs specs = new KernelSpecs(new JupyterPaths(Map.of("JUPYTER_PATH", tmp.toString()), tmp.resolve("home")));
        assertThat(specs.resolve("k").resourceDir()).isEqualTo(dir);
        assertThat(specs.resolve(dir.toString()).resourceDir()).isEqualTo(dir);
        assertThat(specs.resolve(dir.resolve("kernel.json").toString()).resourceDir()).isEqualTo(dir);
        assertThat(specs.resolve(dir.toString()).interruptMode()).isEqualTo(InterruptMode.MESSAGE);
    }

    @Test
    void builtinJavaKernelIsFoundWithoutInstallAndAnInstalledSpecWins() throws IOException {
        KernelSpecs specs = new KernelSpecs(new JupyterPaths(Map.of("JUPYTER_PATH", tmp.resolve("p").toString()), tmp.resolve("home")));
        assertThat(specs.list()).containsKey("carpo-java");
        KernelSpec spec = specs.find("carpo-java");
        assertThat(spec.language()).isEqualTo("java");
        assertThat(spec.interruptMode()).isEqualTo(InterruptMode.MESSAGE);
        assertThat(spec.argv()).contains("dev.carpo.pool.server.JavaKernel", "{connection_file}");
        assertThat(spec.argv().get(0)).endsWith("/bin/java");
        // No shell: the classpath is one argv entry, absolute.
        String cp = spec.argv().get(spec.argv().indexOf("-cp") + 1);
        assertThat(cp.split(java.io.File.pathSeparator)).allMatch(e -> Path.of(e).isAbsolute());

        Path installed = KernelSpecs.installBuiltin("carpo-java", tmp.resolve("p/kernels"));
        assertThat(installed).isEqualTo(tmp.resolve("p/kernels/carpo-java"));
        assertThat(specs.list().get("carpo-java")).isEqualTo(installed);
        assertThatThrownBy(() -> KernelSpecs.installBuiltin("carpo-cobol", tmp.resolve("p/kernels")))
                .isInstanceOf(KernelSpecException.class).hasMessageContaining("no built-in kernel named 'carpo-cobol'")
                .hasMessageContaining("carpo-java");
    }

    @Test
    void missingSpecNamesEveryPlaceSearched() {
        KernelSpecs specs = new KernelSpecs(new JupyterPaths(Map.of("JUPYTER_PATH", tmp.resolve("p").toString()), tmp.resolve("home")));
        assertThatThrownBy(() -> specs.find("nope"))
                .isInstanceOf(KernelSpecException.class)
                .hasMessageContaining("no kernelspec named 'nope'")
                .hasMessageContaining(tmp.resolve("p/kernels/nope/kernel.json").toString())
                .hasMessageContaining(tmp.resolve("home/.local/share/jupyter/kernels/nope/kernel.json").toString())
                .hasMessageContaining("/usr/local/share/jupyter/kernels/nope/kernel.json")
                .hasMessageContaining("/usr/share/jupyter/kernels/nope/kernel.json");
        assertThatThrownBy(() -> specs.resolve(tmp.resolve("absent").toString()))
                .hasMessageContaining(tmp.resolve("absent").toString()).hasMessageContaining("no such file");
        assertThatThrownBy(() -> specs.resolve(" ")).hasMessageContaining("kernelspec is empty");
    }

    @Test
    void malformedSpecNamesFileAndField() throws IOException {
        Path noArgv = spec(tmp, "a", "{\"display_name\": \"x\"}");
        assertThatThrownBy(() -> KernelSpec.read(noArgv.resolve("kernel.json")))
                .hasMessageContaining(noArgv.resolve("kernel.json").toString()).hasMessageContaining("'argv' is missing");
        Path badArg = spec(tmp, "b", "{\"argv\": [\"x\", 3]}");
        assertThatThrownBy(() -> KernelSpec.read(badArg.resolve("kernel.json"))).hasMessageContaining("'argv[1]' must be a string");
        Path badMode = spec(tmp, "c", "{\"argv\": [\"x\"], \"interrupt_mode\": \"poke\"}");
        assertThatThrownBy(() -> KernelSpec.read(badMode.resolve("kernel.json"))).hasMessageContaining("'interrupt_mode'").hasMessageContaining("poke");
        Path badEnv = spec(tmp, "d", "{\"argv\": [\"x\"], \"env\": {\"A\": 1}}");
        assertThatThrownBy(() -> KernelSpec.read(badEnv.resolve("kernel.json"))).hasMessageContaining("'env.A'");
        Path badLang = spec(tmp, "e", "{\"argv\": [\"x\"], \"language\": []}");
        assertThatThrownBy(() -> KernelSpec.read(badLang.resolve("kernel.json"))).hasMessageContaining("'language'");
        Path notJson = spec(tmp, "f", "{argv: oops");
        assertThatThrownBy(() -> KernelSpec.read(notJson.resolve("kernel.json")))
                .isInstanceOf(KernelSpecException.class).hasMessageContaining(notJson.resolve("kernel.json").toString());
    }

    @Test
    void argvPlaceholdersAndEnvReferencesAreFilledIn() {
        KernelSpec s = new KernelSpec("k", Path.of("/res"), java.util.List.of("run", "{connection_file}", "--res={resource_dir}", "$HOME;rm -rf /"),
                "K", "x", Map.of(), InterruptMode.SIGNAL, com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode());
        assertThat(LocalProvisioner.argv(s, Path.of("/rt/kernel-1.json")))
                .containsExactly("run", "/rt/kernel-1.json", "--res=/res", "$HOME;rm -rf /");
        assertThat(LocalProvisioner.substitute("${PATH}:/extra:${NOPE}", Map.of("PATH", "/bin")))
                .isEqualTo("/bin:/extra:${NOPE}");
    }
}

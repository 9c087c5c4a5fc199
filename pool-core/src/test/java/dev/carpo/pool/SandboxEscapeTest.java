package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ways out of the sandbox a review found, each closed, tried on real sandboxed ipykernels (running as root in CI). */
class SandboxEscapeTest {
    @TempDir
    Path dir;

    /**
     * A working directory or listed path that would show a kernel the others' private directories
     * (every one is under /tmp: connection key, sockets) or the runtime dir is refused by createPool,
     * naming it, and no pool is left. (Bound, /tmp would have let kernel A read B's key and run code in B.)
     */
    @Test
    void pathsThatWouldExposeOtherKernelsAreRefusedUpFront() throws Exception {
        Path runtime = Files.createDirectories(dir.resolve("rt/inside")).getParent();
        try (KernelPools pools = new PoolTesting().pools(runtime)) {
            for (PoolOptions.Builder bad : java.util.List.of(
                    PoolOptions.builder().sandbox(Sandbox.builder().build()).workingDirectory(Path.of("/tmp")),
                    PoolOptions.builder().sandbox(Sandbox.builder().readOnly(Path.of("/")).build()),
                    PoolOptions.builder().sandbox(Sandbox.builder().writable(dir).build()),
                    PoolOptions.builder().sandbox(Sandbox.builder().readOnly(runtime).build()))) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> pools.createPool("python", "python3", bad.build()))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("sandbox ").hasMessageContaining("list a directory beside it");
                assertThat(pools.pools()).isEmpty();
            }
            // A directory below the runtime dir is fine: it shows none of the kernels' files, which lie in the runtime dir itself.
            LanguagePool below = pools.createPool("below", "python3", PoolOptions.builder().size(1)
                    .sandbox(Sandbox.builder().writable(runtime.resolve("inside")).build()).build());
            assertThat(below.execute("import os; open('" + runtime.resolve("inside/out.txt") + "', 'w').write('ok'); "
                    + "os.path.exists('" + runtime + "/kernel-' + 'x')").status()).isEqualTo(ExecutionStatus.OK);
            assertThat(runtime.resolve("inside/out.txt")).hasContent("ok");
            assertThat(below.execute("import glob; glob.glob('" + runtime + "/*')").text())
                    .as("of the runtime dir, only the listed directory is there").isEqualTo("['" + runtime.resolve("inside") + "']");
        }
    }

    /**
     * Run as root (CI), the sandboxed kernel is uid 0 without capabilities, still the owner of
     * root's 0600 files: what others may not read under /etc is hidden (EtcSecrets).
     */
    @Test
    void evenRootSeesOnlyTheWorldReadablePartOfEtc() throws Exception {
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir.resolve("rt"))) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1)
                    .sandbox(Sandbox.builder().build()).build());
            ExecutionResult r = py.execute(String.join("\n",
                    "import os, stat",
                    "found = []",
                    "for d, _, fs in os.walk('/etc'):",
                    "    for f in fs:",
                    "        p = os.path.join(d, f)",
                    "        try:",
                    "            st = os.lstat(p)",
                    "            if stat.S_ISREG(st.st_mode) and not (st.st_mode & 0o004):",
                    "                open(p, 'rb').read(1); found.append(oct(st.st_mode & 0o777) + ' ' + p)",
                    "        except OSError:",
                    "            pass",
                    "(os.getuid(), found)"));
            System.out.println("S2 uid and non-world-readable /etc files the sandbox read: " + r.text());
            assertThat(r.text()).as("files under /etc others may not read, read inside").endsWith(", [])");
        }
    }

    /** A readOnly path inside a writable one stays read-only (binds go parents first). */
    @Test
    void aReadOnlyPathInsideAWritableOneStaysReadOnly() throws Exception {
        Path rw = Files.createDirectories(dir.resolve("rw"));
        Path ro = Files.createDirectories(rw.resolve("ro"));
        PoolTesting testing = new PoolTesting();
        try (KernelPools pools = testing.pools(dir.resolve("rt"))) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(1)
                    .sandbox(Sandbox.builder().readOnly(ro).writable(rw).build()).build());
            ExecutionResult r = py.execute("open('" + ro.resolve("x") + "', 'w').write('x')");
            System.out.println("S3 write into readOnly " + ro + ": " + r.status() + " " + r.text() + " exists on host " + Files.exists(ro.resolve("x")));
            assertThat(ro.resolve("x")).doesNotExist();
        }
    }

    /** A sandbox path that does not exist is refused at once by createPool, naming it. */
    @Test
    void aMissingSandboxPathIsRefusedAtOnceNamingIt() {
        try (KernelPools pools = new PoolTesting().pools(dir.resolve("rt"))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> pools.createPool("python", "python3",
                    PoolOptions.builder().size(1).sandbox(Sandbox.builder().readOnly(Path.of("/nonexistent/data")).build()).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/nonexistent/data does not exist");
            assertThat(pools.pools()).isEmpty();
        }
    }

    /**
     * An interpreter at ~/.local/bin/python3 (a link, as uv and pipx make) must not bind all of
     * ~/.local, the default runtime dir with it (every kernel's stderr, unsandboxed kernels'
     * connection files): the kernel runs the interpreter the link leads to.
     */
    @Test
    void anInterpreterInHomeDotLocalDoesNotExposeTheRuntimeDir() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home"));
        Path bin = Files.createDirectories(home.resolve(".local/bin"));
        Files.createSymbolicLink(bin.resolve("python3"), Path.of("/usr/bin/python3"));
        Path runtime = Files.createDirectories(home.resolve(".local/share/jupyter/runtime"));
        Path kernels = Files.createDirectories(dir.resolve("data/kernels/py"));
        Files.writeString(kernels.resolve("kernel.json"), "{\"argv\": [\"" + bin.resolve("python3")
                + "\", \"-m\", \"ipykernel_launcher\", \"-f\", \"{connection_file}\"], \"display_name\": \"py\", \"language\": \"python\"}");
        KernelPools pools = KernelPools.builder().runtimeDir(runtime)
                .kernelSpecs(new dev.carpo.pool.kernel.KernelSpecs(new dev.carpo.pool.kernel.JupyterPaths(
                        java.util.Map.of("JUPYTER_PATH", dir.resolve("data").toString()), dir.resolve("data")))).build();
        try (pools) {
            LanguagePool py = pools.createPool("python", "py", PoolOptions.builder().size(2).sandbox(Sandbox.builder().build()).build());
            try (KernelLease a = py.lease(); KernelLease b = py.lease()) {
                b.execute("import os; os.write(2, b'tenant B traceback: password=hunter2\\n')");
                String seen = a.execute("import glob; [open(f).read() for f in glob.glob('" + runtime + "/*.stderr')]").text();
                System.out.println("S4 kernel A reads every kernel's stderr: " + seen);
                assertThat(seen).doesNotContain("hunter2");
            }
        }
    }
}

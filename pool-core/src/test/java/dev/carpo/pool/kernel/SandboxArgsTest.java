package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bwrap argv and environment of a sandboxed kernel, as data: no kernel is started here. */
class SandboxArgsTest {
    @TempDir
    Path dir;

    private List<String> argv(KernelSandbox sandbox, Path program, KernelTempDir kernelDir, Path workingDirectory) {
        return SandboxArgs.bwrap("/usr/bin/bwrap", sandbox, TestKernels.python(), program, kernelDir.path().resolve("kernel-1.json"),
                kernelDir.scratch() != null ? kernelDir.scratch() : Path.of("/tmp"), kernelDir, workingDirectory, dir.resolve("runtime"));
    }

    @Test
    void theSystemIsReadOnlyTmpIsPrivateAndTheKernelsOwnDirectoryIsWritable() {
        KernelTempDir kernelDir = KernelTempDir.create(true);
        try {
            List<String> argv = argv(KernelSandbox.builder().build(), Path.of("/usr/bin/python3"), kernelDir, null);
            String joined = String.join(" ", argv);
            assertThat(argv.get(0)).isEqualTo("/usr/bin/bwrap");
            assertThat(joined).contains("--ro-bind /usr /usr", "--ro-bind /etc /etc", "--proc /proc", "--dev /dev", "--tmpfs /tmp",
                    "--bind " + kernelDir.path() + " " + kernelDir.path(), "--chdir " + kernelDir.scratch(),
                    "--unshare-net", "--unshare-pid", "--die-with-parent", "--cap-drop ALL");
            assertThat(argv.get(argv.size() - 1)).isEqualTo("--");
            // The private /tmp first, then what is bound inside it.
            assertThat(joined.indexOf("--tmpfs /tmp")).isLessThan(joined.indexOf("--bind " + kernelDir.path()));
            if (Files.isSymbolicLink(Path.of("/bin"))) {
                assertThat(joined).contains("--symlink usr/bin /bin");
            }
            assertThat(joined).as("nothing of the host's root beyond the system").doesNotContain("--bind / ", "--ro-bind / ", "/root");
            // The connection file is in the kernel's directory: not bound on its own.
            assertThat(joined).doesNotContain("kernel-1.json");
        } finally {
            kernelDir.delete();
        }
        assertThat(kernelDir.path()).doesNotExist();
    }

    @Test
    void withNetworkThereIsNoNetworkNamespace() {
        KernelTempDir kernelDir = KernelTempDir.create(false);
        try {
            assertThat(argv(KernelSandbox.builder().network(true).build(), Path.of("/usr/bin/python3"), kernelDir, null))
                    .doesNotContain("--unshare-net").contains("--unshare-pid");
        } finally {
            kernelDir.delete();
        }
    }

    @Test
    void listedPathsAndTheWorkingDirectoryAreBoundAtTheirOwnPlaceAfterTheSystem() throws Exception {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Path rw = Files.createDirectory(dir.resolve("rw"));
        Path wd = Files.createDirectory(dir.resolve("wd"));
        KernelTempDir kernelDir = KernelTempDir.create(false);
        try {
            String joined = String.join(" ", argv(KernelSandbox.builder().readOnly(ro).writable(rw).build(), Path.of("/usr/bin/python3"),
                    kernelDir, wd));
            assertThat(joined).contains("--ro-bind " + ro + " " + ro, "--bind " + rw + " " + rw, "--bind " + wd + " " + wd);
            assertThat(joined.indexOf("--ro-bind /usr /usr")).isLessThan(joined.indexOf("--bind " + rw));
        } finally {
            kernelDir.delete();
        }
    }

    @Test
    void aListedPathThatDoesNotExistIsNamed() {
        KernelTempDir kernelDir = KernelTempDir.create(false);
        try {
            Path missing = dir.resolve("missing");
            assertThatThrownBy(() -> argv(KernelSandbox.builder().writable(missing).build(), Path.of("/usr/bin/python3"), kernelDir, null))
                    .isInstanceOf(KernelStartException.class).hasMessage("sandbox writable path " + missing + " does not exist");
        } finally {
            kernelDir.delete();
        }
    }

    @Test
    void aProgramOutsideTheSystemBringsItsPrefixNeverTheRoot() throws Exception {
        Path venv = Files.createDirectories(dir.resolve("venv/bin"));
        Path python = Files.createSymbolicLink(venv.resolve("python"), Path.of("/usr/bin/python3"));
        assertThat(SandboxArgs.programPrefixes(python)).containsExactly(dir.resolve("venv"));
        Path tool = Files.createFile(dir.resolve("tool"));
        assertThat(SandboxArgs.programPrefixes(tool)).containsExactly(dir);
        assertThat(SandboxArgs.programPrefixes(Path.of("/usr/bin/python3"))).isEmpty();
        assertThat(SandboxArgs.programPrefixes(Path.of("/bin/python3"))).as("/bin's prefix would be /").isEmpty();
        assertThat(SandboxArgs.programPrefixes(Path.of("/usr/local/bin/x"))).isEmpty();
    }

    /** $HOME (what Jupyter and kernels use) and the password database's home can differ: neither is bound, nor any dir above them. */
    @Test
    void aPrefixHoldingEitherHomeIsNotBound() throws Exception {
        Path env = Files.createDirectories(dir.resolve("users/env-home"));
        Path passwd = Files.createDirectories(dir.resolve("accounts/me"));
        Path venv = Files.createDirectories(dir.resolve("opt/venv"));
        List<Path> homes = SandboxArgs.homes(env.toString(), "", null, passwd.toString());
        assertThat(homes).containsExactly(env, passwd);
        Path runtime = dir.resolve("runtime");
        assertThat(SandboxArgs.bindable(venv, runtime, homes)).isTrue();
        assertThat(SandboxArgs.bindable(dir.resolve("users"), runtime, homes)).as("above $HOME").isFalse();
        assertThat(SandboxArgs.bindable(env, runtime, homes)).as("$HOME itself").isFalse();
        assertThat(SandboxArgs.bindable(dir.resolve("accounts"), runtime, homes)).as("above user.home").isFalse();
        assertThat(SandboxArgs.bindable(env.resolve("venv"), runtime, homes)).as("a venv inside $HOME").isTrue();
    }

    @Test
    void theEnvironmentIsBuiltFromLocaleTheSpecAndTheOptionsOnly() {
        Map<String, String> parent = Map.of("PATH", "/home/me/bin:/usr/bin", "HOME", "/home/me", "LANG", "C.UTF-8", "LC_ALL", "C",
                "AWS_SECRET_ACCESS_KEY", "s3cr3t", "USER", "me");
        Map<String, String> env = SandboxArgs.environment(parent, TestKernels.python(), Map.of("MPLBACKEND", "Agg"), Path.of("/opt/py/bin/python"));
        assertThat(env).containsEntry("HOME", "/tmp").containsEntry("LANG", "C.UTF-8").containsEntry("LC_ALL", "C")
                .containsEntry("MPLBACKEND", "Agg").doesNotContainKeys("AWS_SECRET_ACCESS_KEY", "USER");
        assertThat(env.get("PATH")).startsWith("/opt/py/bin:").doesNotContain("/home/me");
    }
}

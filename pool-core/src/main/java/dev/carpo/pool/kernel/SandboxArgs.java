package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bubblewrap argv and environment of a sandboxed kernel ({@link KernelSandbox}): everything up
 * to and including bwrap's {@code --}, and the variables it starts with. No shell ever sees them.
 *
 * <p>Mounts, in order (a later one may sit inside an earlier one): the system read-only
 * ({@code /usr}, {@code /etc}, and {@code /bin}, {@code /sbin}, {@code /lib*} as the host has them,
 * links as links), a fresh {@code /proc}, a minimal {@code /dev}, a private {@code /tmp}; then
 * read-only the kernelspec's directory, the program's prefix where it lies outside the system, and
 * the sandbox's read-only paths; then writable the sandbox's writable paths, the working directory
 * and the kernel's private directory (connection file, scratch, sockets). Each at its own path.
 * The connection file is in the private directory, not bound read-only from the runtime dir:
 * ipykernel rewrites it once its sockets are bound, and fails on a read-only file.
 *
 * <p>The kernel runs as the JVM's user, so where that is root it could read anything under
 * {@code /etc}: what others may not read there ({@link EtcSecrets}: password hashes, private keys,
 * 0600 configuration) is bound over with {@code /dev/null} (on a nodev mount: it cannot be opened),
 * or for a directory an empty tmpfs.
 *
 * <p>Capabilities are dropped ({@code --cap-drop ALL}): run as root, bwrap would otherwise leave the
 * kernel free to remount {@code /usr} read-write. The environment is not passed as
 * {@code --clearenv}/{@code --setenv}: argv is readable by every user in {@code /proc}, and pool env
 * may hold secrets; the process is started with exactly these variables instead.
 */
final class SandboxArgs {
    /** Where the system lives; anything under these is already visible, read-only. */
    private static final List<Path> SYSTEM = List.of(Path.of("/usr"), Path.of("/etc"));
    /** The merged-/usr links or directories, bound as the host has them. */
    private static final List<Path> ROOT_LINKS = List.of(Path.of("/bin"), Path.of("/sbin"), Path.of("/lib"), Path.of("/lib64"),
            Path.of("/lib32"), Path.of("/libx32"));
    static final String HOME = "/tmp";
    private static final String SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private SandboxArgs() {
    }

    /**
     * @param program the kernel's program, absolute, as found on the host
     * @param kernelDir the kernel's private directory, or {@code null} when it has none
     * @param workingDirectory where the kernel starts inside
     */
    static List<String> bwrap(String bwrap, KernelSandbox sandbox, KernelSpec spec, Path program, Path connectionFile,
                              Path workingDirectory, KernelTempDir kernelDir, Path poolWorkingDirectory, Path runtimeDir) {
        checkBinds(sandbox.readOnly(), sandbox.writable(), poolWorkingDirectory, runtimeDir);
        List<String> argv = new ArrayList<>(List.of(bwrap));
        for (Path system : SYSTEM) {
            if (Files.isDirectory(system)) {
                add(argv, "--ro-bind", system, system);
            }
        }
        // The kernel runs as the JVM's user; if that is root it could read all of /etc: it sees what others may.
        for (Path hidden : EtcSecrets.HIDDEN) {
            if (Files.isDirectory(hidden, LinkOption.NOFOLLOW_LINKS)) {
                argv.addAll(List.of("--tmpfs", hidden.toString()));
            } else {
                add(argv, "--ro-bind", Path.of("/dev/null"), hidden);
            }
        }
        for (Path link : ROOT_LINKS) {
            if (Files.isSymbolicLink(link)) {
                argv.add("--symlink");
                argv.add(readLink(link));
                argv.add(link.toString());
            } else if (Files.isDirectory(link, LinkOption.NOFOLLOW_LINKS)) {
                add(argv, "--ro-bind", link, link);
            }
        }
        argv.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"));
        if (Files.isDirectory(spec.resourceDir()) && !covered(spec.resourceDir())) {
            add(argv, "--ro-bind", spec.resourceDir(), spec.resourceDir());
        }
        for (Path prefix : programPrefixes(program)) {
            if (bindable(prefix, runtimeDir)) {
                add(argv, "--ro-bind", prefix, prefix);
            }
        }
        if (kernelDir == null || !connectionFile.startsWith(kernelDir.path())) {
            add(argv, "--ro-bind", connectionFile, connectionFile);
        }
        // Parents first, so a read-only path inside a writable one stays read-only (a later bind covers an earlier one).
        List<String[]> binds = new ArrayList<>();
        for (Path p : sandbox.readOnly()) {
            binds.add(new String[] {"--ro-bind", requireExists(p, "readOnly").toString()});
        }
        for (Path p : sandbox.writable()) {
            binds.add(new String[] {"--bind", requireExists(p, "writable").toString()});
        }
        if (poolWorkingDirectory != null) {
            binds.add(new String[] {"--bind", poolWorkingDirectory.toAbsolutePath().normalize().toString()});
        }
        binds.sort(java.util.Comparator.comparingInt(b -> Path.of(b[1]).getNameCount()));
        for (String[] b : binds) {
            argv.addAll(List.of(b[0], b[1], b[1]));
        }
        if (kernelDir != null) {
            add(argv, "--bind", kernelDir.path(), kernelDir.path());
        }
        argv.addAll(List.of("--chdir", workingDirectory.toString()));
        if (!sandbox.network()) {
            argv.add("--unshare-net");
        }
        // PID namespace as for every kernel (see PidNamespace); IPC too, so SysV shared memory is no channel to the host.
        argv.addAll(List.of("--unshare-pid", "--unshare-ipc", "--die-with-parent", "--cap-drop", "ALL", "--"));
        return argv;
    }

    /**
     * The sandboxed kernel's whole environment: {@code PATH} (the program's directory, then the
     * system's), {@code LANG}, {@code LANGUAGE} and {@code LC_*} from {@code parent}, {@code HOME=/tmp},
     * then the spec's env (its {@code ${NAME}} references filled from {@code parent}) and the options' env.
     */
    static Map<String, String> environment(Map<String, String> parent, KernelSpec spec, Map<String, String> optionsEnv, Path program) {
        Map<String, String> env = new LinkedHashMap<>();
        Path bin = program.getParent();
        env.put("PATH", bin != null && !covered(bin) ? bin + ":" + SYSTEM_PATH : SYSTEM_PATH);
        parent.forEach((k, v) -> {
            if (k.equals("LANG") || k.equals("LANGUAGE") || k.startsWith("LC_")) {
                env.put(k, v);
            }
        });
        env.put("HOME", HOME);
        spec.env().forEach((k, v) -> env.put(k, LocalProvisioner.substitute(v, parent)));
        env.putAll(optionsEnv);
        return env;
    }

    /**
     * The program's installation, when it lies outside the system: the directory above its
     * {@code bin} (a virtualenv, a conda env, /opt/…), or its own directory; for the path as given
     * and for the path its links lead to. Never {@code /}.
     */
    static List<Path> programPrefixes(Path program) {
        List<Path> out = new ArrayList<>();
        List<Path> candidates = new ArrayList<>(List.of(program));
        try {
            candidates.add(program.toRealPath());
        } catch (IOException | RuntimeException unresolvable) {
            // The start fails later naming the program.
        }
        for (Path p : candidates) {
            Path dir = p.getParent();
            if (dir == null) {
                continue;
            }
            Path prefix = dir.getFileName() != null && dir.getFileName().toString().equals("bin") && dir.getParent() != null
                    && dir.getParent().getNameCount() >= 2 ? dir.getParent() : dir; // /opt/venv, never /opt or /home
            if (prefix.getParent() != null && !covered(prefix) && !coversSystem(prefix) && !out.contains(prefix)) {
                out.add(prefix);
            }
        }
        return out;
    }

    /** Under a system directory, or one of the root links: visible already. */
    private static boolean covered(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        if (SYSTEM.stream().anyMatch(abs::startsWith)) {
            return true;
        }
        try {
            Path real = abs.toRealPath();
            return SYSTEM.stream().anyMatch(real::startsWith);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Above a system directory ({@code /}, say): binding it would show the whole machine. */
    private static boolean coversSystem(Path p) {
        return SYSTEM.stream().anyMatch(s -> s.startsWith(p)) || ROOT_LINKS.stream().anyMatch(s -> s.startsWith(p));
    }

    /**
     * Refuses a listed path (or the working directory) that would show the kernel what no kernel may
     * see: the directory every kernel's private directory is made in (its connection key, its
     * sockets), or this JVM's runtime dir (other kernels' connection files and stderr), by being
     * it or containing it (a directory below the runtime dir is fine: kernels' files lie in it directly).
     *
     * @throws KernelStartException naming the path and what it would expose
     */
    static void checkBinds(List<Path> readOnly, List<Path> writable, Path workingDirectory, Path runtimeDir) {
        List<String[]> all = new ArrayList<>();
        readOnly.forEach(p -> all.add(new String[] {"readOnly path", p.toString()}));
        writable.forEach(p -> all.add(new String[] {"writable path", p.toString()}));
        if (workingDirectory != null) {
            all.add(new String[] {"working directory", workingDirectory.toAbsolutePath().normalize().toString()});
        }
        for (String[] entry : all) {
            if (!Files.exists(Path.of(entry[1]))) {
                throw new KernelStartException("sandbox " + entry[0] + " " + entry[1] + " does not exist");
            }
            String why = exposes(Path.of(entry[1]), runtimeDir);
            if (why != null) {
                throw new KernelStartException("sandbox " + entry[0] + " " + entry[1] + " " + why + "; list a directory beside it");
            }
        }
    }

    /**
     * A program prefix is bound only where that shows nothing it must not: never the caller's home or
     * a directory above it, never the runtime dir or the kernels' private directories.
     */
    static boolean bindable(Path prefix, Path runtimeDir) {
        return bindable(prefix, runtimeDir, homes(System.getenv("HOME"), System.getProperty("user.home")));
    }

    static boolean bindable(Path prefix, Path runtimeDir, List<Path> homes) {
        return exposes(prefix, runtimeDir) == null && homes.stream().noneMatch(home -> isAncestorOrSame(prefix, home));
    }

    /**
     * The program's path as the sandboxed kernel can run it: as given where it is visible (under the
     * system, or its prefix bound), else the path its links lead to where that is (a uv or pipx link
     * in {@code ~/.local/bin} to an interpreter elsewhere), else as given (the start then fails
     * saying it is not there: list its installation in {@code readOnly}).
     */
    static Path insideProgram(Path program, Path runtimeDir) {
        List<Path> candidates = new ArrayList<>(List.of(program));
        try {
            candidates.add(program.toRealPath());
        } catch (IOException | RuntimeException unresolvable) {
            return program;
        }
        for (Path p : candidates) {
            // The path itself under the system (not merely what it links to: the link must be visible too).
            boolean visible = SYSTEM.stream().anyMatch(p.toAbsolutePath().normalize()::startsWith);
            if (visible || programPrefixes(p).stream().anyMatch(prefix -> p.startsWith(prefix) && bindable(prefix, runtimeDir))) {
                return p;
            }
        }
        return program;
    }

    /** What binding {@code p} would expose, or null. */
    static String exposes(Path p, Path runtimeDir) {
        Path base = KernelTempDir.base();
        if (isAncestorOrSame(p, base)) {
            return "contains " + base + ", where every kernel's private directory (connection key, sockets) is made";
        }
        Path inBase = real(p);
        Path realBase = real(base);
        if (inBase.startsWith(realBase) && inBase.getNameCount() > realBase.getNameCount()
                && inBase.getName(realBase.getNameCount()).toString().startsWith("carpo-")) {
            return "is inside a kernel's private directory";
        }
        if (runtimeDir != null && isAncestorOrSame(p, runtimeDir)) {
            return "is or contains the kernels' runtime dir " + runtimeDir + " (their connection files and stderr;"
                    + " KernelPools.builder().runtimeDir(...) can move it)";
        }
        // A directory below the runtime dir shows nothing of it (kernels' files lie in it directly); one of those files would.
        Path parent = real(p).getParent();
        if (runtimeDir != null && parent != null && parent.equals(real(runtimeDir)) && p.getFileName().toString().startsWith("kernel-")) {
            return "is a kernel's file in the runtime dir " + runtimeDir;
        }
        return null;
    }

    private static boolean isAncestorOrSame(Path p, Path of) {
        return of != null && real(of).startsWith(real(p));
    }

    /** The path with links resolved where it exists, else as given (absolute, normalized). */
    private static Path real(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        try {
            return abs.toRealPath();
        } catch (IOException | RuntimeException e) {
            return abs;
        }
    }

    /** The caller's home both ways: {@code $HOME}, which kernels and Jupyter use, and the password database's {@code user.home}. */
    static List<Path> homes(String... candidates) {
        List<Path> homes = new ArrayList<>();
        for (String home : candidates) {
            if (home != null && !home.isEmpty()) {
                homes.add(Path.of(home));
            }
        }
        return homes;
    }

    private static Path requireExists(Path p, String list) {
        if (!Files.exists(p)) {
            throw new KernelStartException("sandbox " + list + " path " + p + " does not exist");
        }
        return p;
    }

    private static String readLink(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            throw new KernelStartException("cannot read the link " + link + " for a sandbox: " + e.getMessage(), e);
        }
    }

    private static void add(List<String> argv, String option, Path source, Path destination) {
        argv.add(option);
        argv.add(source.toString());
        argv.add(destination.toString());
    }
}

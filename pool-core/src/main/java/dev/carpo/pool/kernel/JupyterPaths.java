package dev.carpo.pool.kernel;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Jupyter's directory conventions on POSIX, as {@code jupyter --paths} reports them (jupyter_core's
 * {@code paths.py}): the data path searched for kernelspecs, and the runtime dir where connection
 * files go.
 *
 * <p>The data path, highest priority first: each entry of {@code $JUPYTER_PATH}; the user's dirs
 * ({@code $JUPYTER_DATA_DIR}, else {@code $XDG_DATA_HOME/jupyter}, else
 * {@code $HOME/.local/share/jupyter}; then Python's user base, {@code $PYTHONUSERBASE} or
 * {@code $HOME/.local}, {@code /share/jupyter}); the active environment's {@code share/jupyter};
 * then the system dirs, {@code /usr/local/share/jupyter} and {@code /usr/share/jupyter} (with
 * {@code JUPYTER_PLATFORM_DIRS} set, as jupyter_core 5 does: each entry of {@code $XDG_DATA_DIRS},
 * default {@code /usr/local/share:/usr/share}, with {@code /jupyter}). The environment's dirs come
 * before the user's when {@code JUPYTER_PREFER_ENV_PATH} says so, or, when it is unset, inside a
 * virtualenv or a conda environment other than {@code base} (jupyter_core 5's
 * {@code prefer_environment_over_user}).
 *
 * <p>Jupyter takes "the active environment" from the Python it runs in ({@code sys.prefix}); carpo
 * runs in no Python, so it takes every prefix a {@code jupyter} started from this environment could
 * run in: {@code $VIRTUAL_ENV}, {@code $CONDA_PREFIX}, and the prefix (the parent of the {@code bin}
 * directory, symlinks not followed, as a virtualenv's {@code bin/python3} is one) of the first
 * {@code jupyter} and the first {@code python3} on {@code $PATH}. A prefix that is also a system
 * dir ({@code /usr}) adds nothing, as in jupyter_core.
 *
 * <p>Example: {@code JupyterPaths.fromEnvironment().searchDirs()} lists each dir with where it came from.
 *
 * @param env the environment to read ({@code JUPYTER_PATH}, {@code JUPYTER_DATA_DIR},
 *            {@code XDG_DATA_HOME}, {@code HOME}, {@code JUPYTER_RUNTIME_DIR}, {@code VIRTUAL_ENV},
 *            {@code CONDA_PREFIX}, {@code CONDA_DEFAULT_ENV}, {@code PATH}, {@code JUPYTER_PREFER_ENV_PATH},
 *            {@code PYTHONUSERBASE}, {@code PYTHONNOUSERSITE}, {@code JUPYTER_PLATFORM_DIRS},
 *            {@code XDG_DATA_DIRS})
 * @param home the home directory when {@code $HOME} is unset (Python's {@code expanduser} then asks
 *             the password database, as {@code user.home} does)
 */
public record JupyterPaths(Map<String, String> env, Path home) {
    /** Jupyter's system-wide data dirs on Linux, lowest priority, unless {@code JUPYTER_PLATFORM_DIRS} says otherwise ({@link #systemDirs()}). */
    public static final List<Path> SYSTEM_DIRS = List.of(Path.of("/usr/local/share/jupyter"), Path.of("/usr/share/jupyter"));
    private static final Set<String> FALSE = Set.of("no", "n", "false", "off", "0", "0.0");

    /**
     * One directory of the data path and why it is there: {@code "JUPYTER_PATH"}, {@code "user"},
     * {@code "user site"}, {@code "env (VIRTUAL_ENV)"}, {@code "env (CONDA_PREFIX)"},
     * {@code "env (jupyter on PATH)"}, {@code "env (python3 on PATH)"} or {@code "system"}.
     */
    public record SearchDir(Path dir, String origin) {
    }

    public JupyterPaths {
        env = Map.copyOf(env);
    }

    /** The paths of this process's environment; {@code user.home} only where {@code $HOME} is unset. */
    public static JupyterPaths fromEnvironment() {
        return new JupyterPaths(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** The home directory: {@code $HOME}, as Python's {@code os.path.expanduser("~")}; else {@link #home()}. */
    public Path homeDir() {
        String value = nonEmpty("HOME");
        return value != null ? Path.of(value) : home;
    }

    /** The user data dir: {@code $JUPYTER_DATA_DIR}, else {@code $XDG_DATA_HOME/jupyter}, else {@code $HOME/.local/share/jupyter}. */
    public Path userDataDir() {
        String explicit = nonEmpty("JUPYTER_DATA_DIR");
        if (explicit != null) {
            return Path.of(explicit);
        }
        String xdg = nonEmpty("XDG_DATA_HOME");
        return (xdg != null ? Path.of(xdg) : homeDir().resolve(".local/share")).resolve("jupyter");
    }

    /** Directories searched for {@code kernels/<name>/kernel.json}, highest priority first. */
    public List<Path> dataPath() {
        return searchDirs().stream().map(SearchDir::dir).toList();
    }

    /** {@link #dataPath()} with where each entry came from; a dir listed twice keeps its first place. */
    public List<SearchDir> searchDirs() {
        Map<Path, String> dirs = new LinkedHashMap<>();
        String jupyterPath = nonEmpty("JUPYTER_PATH");
        if (jupyterPath != null) {
            for (String entry : jupyterPath.split(File.pathSeparator)) {
                if (!entry.isBlank()) {
                    dirs.putIfAbsent(Path.of(entry).normalize(), "JUPYTER_PATH");
                }
            }
        }
        Map<Path, String> user = new LinkedHashMap<>();
        user.put(userDataDir(), "user");
        Path userSite = userSiteDir();
        if (userSite != null) {
            user.putIfAbsent(userSite, "user site");
        }
        Map<Path, String> environment = environmentDirs();
        if (preferEnvironmentOverUser()) {
            environment.forEach(dirs::putIfAbsent);
            user.forEach(dirs::putIfAbsent);
        } else {
            user.forEach(dirs::putIfAbsent);
            environment.forEach(dirs::putIfAbsent);
        }
        systemDirs().forEach(d -> dirs.putIfAbsent(d, "system"));
        List<SearchDir> out = new ArrayList<>();
        dirs.forEach((dir, origin) -> out.add(new SearchDir(dir, origin)));
        return out;
    }

    /**
     * The system-wide data dirs: {@link #SYSTEM_DIRS}; with {@code JUPYTER_PLATFORM_DIRS} set (any value
     * but no, n, false, off, 0, 0.0), platformdirs' {@code site_data_dir}: each entry of
     * {@code $XDG_DATA_DIRS} (default {@code /usr/local/share:/usr/share}) with {@code /jupyter}.
     */
    public List<Path> systemDirs() {
        if (!flag("JUPYTER_PLATFORM_DIRS")) {
            return SYSTEM_DIRS;
        }
        String xdg = env.getOrDefault("XDG_DATA_DIRS", "");
        if (xdg.isBlank()) {
            xdg = "/usr/local/share" + File.pathSeparator + "/usr/share";
        }
        List<Path> dirs = new ArrayList<>();
        for (String entry : xdg.split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                Path dir = Path.of(entry).resolve("jupyter").normalize();
                if (!dirs.contains(dir)) {
                    dirs.add(dir);
                }
            }
        }
        return List.copyOf(dirs);
    }

    /** jupyter_core's {@code envset}: set to anything but no, n, false, off, 0, 0.0 (case aside). */
    private boolean flag(String name) {
        String value = env.get(name);
        return value != null && !FALSE.contains(value.toLowerCase(Locale.ROOT));
    }

    /**
     * Whether the environment's dirs come before the user's: {@code JUPYTER_PREFER_ENV_PATH} when
     * set (any value but no, n, false, off, 0, 0.0 means yes), else inside a virtualenv or a conda
     * environment other than {@code base} that this user owns.
     */
    public boolean preferEnvironmentOverUser() {
        if (env.containsKey("JUPYTER_PREFER_ENV_PATH")) {
            return flag("JUPYTER_PREFER_ENV_PATH");
        }
        Path venv = virtualenv();
        if (venv != null && owned(venv)) {
            return true;
        }
        String conda = nonEmpty("CONDA_PREFIX");
        return conda != null && !"base".equals(env.getOrDefault("CONDA_DEFAULT_ENV", "base")) && owned(Path.of(conda));
    }

    /** The active virtualenv: {@code $VIRTUAL_ENV}, else the prefix of the {@code jupyter} or {@code python3} on PATH if it has a {@code pyvenv.cfg}. */
    private Path virtualenv() {
        String venv = nonEmpty("VIRTUAL_ENV");
        if (venv != null) {
            return Path.of(venv);
        }
        for (String program : List.of("jupyter", "python3")) {
            Path prefix = prefixOnPath(program);
            if (prefix != null && Files.isRegularFile(prefix.resolve("pyvenv.cfg"))) {
                return prefix;
            }
        }
        return null;
    }

    /** Where connection files are written: {@code $JUPYTER_RUNTIME_DIR}, else {@code <user data dir>/runtime}. */
    public Path runtimeDir() {
        String explicit = nonEmpty("JUPYTER_RUNTIME_DIR");
        return explicit != null ? Path.of(explicit) : userDataDir().resolve("runtime");
    }

    /** Creates {@code dir} (and parents) if missing; a directory we create is private to the user (0700). */
    static Path ensurePrivateDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir.toAbsolutePath().getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // Another kernel start created it first.
            }
        }
        return dir;
    }

    /**
     * Python's user base {@code share/jupyter}, which jupyter_core adds while Python's user site is
     * enabled: not with {@code PYTHONNOUSERSITE}, nor in a virtualenv made without
     * {@code --system-site-packages} (Python's {@code site.venv()} turns it off there).
     */
    private Path userSiteDir() {
        if (nonEmpty("PYTHONNOUSERSITE") != null) {
            return null;
        }
        Path venv = virtualenv();
        if (venv != null && !includesSystemSitePackages(venv)) {
            return null;
        }
        String base = nonEmpty("PYTHONUSERBASE");
        return (base != null ? Path.of(base) : homeDir().resolve(".local")).resolve("share/jupyter");
    }

    private static boolean includesSystemSitePackages(Path venv) {
        try {
            return Files.readAllLines(venv.resolve("pyvenv.cfg")).stream()
                    .map(line -> line.replace(" ", "").toLowerCase(Locale.ROOT))
                    .anyMatch(line -> line.equals("include-system-site-packages=true"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The prefixes' {@code share/jupyter} dirs, in the order of the class comment, system dirs left out. */
    private Map<Path, String> environmentDirs() {
        Map<Path, String> prefixes = new LinkedHashMap<>();
        String venv = nonEmpty("VIRTUAL_ENV");
        if (venv != null) {
            prefixes.putIfAbsent(Path.of(venv), "env (VIRTUAL_ENV)");
        }
        String conda = nonEmpty("CONDA_PREFIX");
        if (conda != null) {
            prefixes.putIfAbsent(Path.of(conda), "env (CONDA_PREFIX)");
        }
        for (String program : List.of("jupyter", "python3")) {
            Path prefix = prefixOnPath(program);
            if (prefix != null) {
                prefixes.putIfAbsent(prefix, "env (" + program + " on PATH)");
            }
        }
        Map<Path, String> dirs = new LinkedHashMap<>();
        prefixes.forEach((prefix, origin) -> {
            Path dir = prefix.normalize().resolve("share/jupyter");
            if (!systemDirs().contains(dir)) {
                dirs.putIfAbsent(dir, origin);
            }
        });
        return dirs;
    }

    /** The parent of the {@code bin} dir holding the first executable {@code program} on {@code $PATH}; null if none. */
    private Path prefixOnPath(String program) {
        String path = nonEmpty("PATH");
        if (path == null) {
            return null;
        }
        for (String entry : path.split(File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            Path bin = Path.of(entry).toAbsolutePath().normalize();
            if (Files.isExecutable(bin.resolve(program)) && !Files.isDirectory(bin.resolve(program))) {
                return bin.getFileName() != null && bin.getFileName().toString().equals("bin") ? bin.getParent() : null;
            }
        }
        return null;
    }

    /** jupyter_core's {@code _do_i_own}: the nearest existing ancestor belongs to this user (else: is writable). */
    private static boolean owned(Path prefix) {
        Path p = prefix.toAbsolutePath();
        while (p.getParent() != null && !Files.exists(p)) {
            p = p.getParent();
        }
        try {
            return Files.getOwner(p).getName().equals(System.getProperty("user.name"));
        } catch (IOException | UnsupportedOperationException e) {
            return Files.isWritable(p);
        }
    }

    private String nonEmpty(String name) {
        String value = env.get(name);
        return value == null || value.isEmpty() ? null : value;
    }
}

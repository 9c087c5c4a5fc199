package dev.carpo.pool.kernel;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Jupyter's directory conventions on POSIX, as {@code jupyter --paths} reports them: the data path
 * searched for kernelspecs and the runtime dir where connection files go.
 *
 * <p>Example: {@code JupyterPaths.fromEnvironment().dataPath()}.
 *
 * @param env the environment to read ({@code JUPYTER_PATH}, {@code JUPYTER_DATA_DIR},
 *            {@code XDG_DATA_HOME}, {@code JUPYTER_RUNTIME_DIR})
 * @param home the user's home directory
 */
public record JupyterPaths(Map<String, String> env, Path home) {

    public JupyterPaths {
        env = Map.copyOf(env);
    }

    /** The paths of this process's environment and {@code user.home}. */
    public static JupyterPaths fromEnvironment() {
        return new JupyterPaths(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** The user data dir: {@code $JUPYTER_DATA_DIR}, else {@code $XDG_DATA_HOME/jupyter}, else {@code ~/.local/share/jupyter}. */
    public Path userDataDir() {
        String explicit = nonEmpty("JUPYTER_DATA_DIR");
        if (explicit != null) {
            return Path.of(explicit);
        }
        String xdg = nonEmpty("XDG_DATA_HOME");
        return (xdg != null ? Path.of(xdg) : home.resolve(".local/share")).resolve("jupyter");
    }

    /** Directories searched for {@code kernels/<name>/kernel.json}, highest priority first. */
    public List<Path> dataPath() {
        LinkedHashSet<Path> dirs = new LinkedHashSet<>();
        String jupyterPath = nonEmpty("JUPYTER_PATH");
        if (jupyterPath != null) {
            for (String entry : jupyterPath.split(File.pathSeparator)) {
                if (!entry.isBlank()) {
                    dirs.add(Path.of(entry));
                }
            }
        }
        dirs.add(userDataDir());
        dirs.add(Path.of("/usr/local/share/jupyter"));
        dirs.add(Path.of("/usr/share/jupyter"));
        return new ArrayList<>(dirs);
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

    private String nonEmpty(String name) {
        String value = env.get(name);
        return value == null || value.isEmpty() ? null : value;
    }
}

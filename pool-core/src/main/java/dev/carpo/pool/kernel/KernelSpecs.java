package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Kernelspec discovery, as {@code jupyter kernelspec list}: each data-path directory's
 * {@code kernels/<name>/kernel.json}, earlier directories winning over later ones; then carpo's
 * built-in kernels ({@link BuiltinKernel}: {@code carpo-java}, and {@code carpo-lua} with pool-lua),
 * which need no install.
 *
 * <p>Example:
 * <pre>{@code
 * KernelSpecs specs = KernelSpecs.fromEnvironment();
 * KernelSpec python = specs.resolve("python3");               // a name
 * KernelSpec same = specs.resolve("/usr/share/jupyter/kernels/python3"); // a directory or kernel.json
 * }</pre>
 */
public final class KernelSpecs {
    private final JupyterPaths paths;

    public KernelSpecs(JupyterPaths paths) {
        this.paths = paths;
    }

    /** Discovery over this process's environment. */
    public static KernelSpecs fromEnvironment() {
        return new KernelSpecs(JupyterPaths.fromEnvironment());
    }

    /** The directories searched, in priority order, each with its {@code kernels} subdirectory. */
    public List<Path> searchPath() {
        List<Path> dirs = new ArrayList<>();
        for (Path dataDir : paths.dataPath()) {
            dirs.add(dataDir.resolve("kernels"));
        }
        return dirs;
    }

    /** The Jupyter data dirs searched ({@code <dir>/kernels/<name>}), each with where it came from, in priority order. */
    public List<JupyterPaths.SearchDir> searchDirs() {
        return paths.searchDirs();
    }

    /** Where a discovered spec lives, and which search dir gave it ({@link JupyterPaths.SearchDir#origin()}, or {@code "built-in"}). */
    public record Located(Path dir, String origin) {
    }

    /** Every discovered spec directory by name (lower-case), the winning one for each name. */
    public Map<String, Path> list() {
        Map<String, Path> found = new LinkedHashMap<>();
        locate().forEach((name, at) -> found.put(name, at.dir()));
        return found;
    }

    /** {@link #list()}, with where each spec came from. */
    public Map<String, Located> locate() {
        Map<String, Located> found = new LinkedHashMap<>();
        for (JupyterPaths.SearchDir data : paths.searchDirs()) {
            Path kernels = data.dir().resolve("kernels");
            if (!Files.isDirectory(kernels)) {
                continue;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(kernels)) {
                List<Path> sorted = new ArrayList<>();
                entries.forEach(sorted::add);
                sorted.sort(null);
                for (Path dir : sorted) {
                    if (Files.isRegularFile(dir.resolve("kernel.json"))) {
                        found.putIfAbsent(dir.getFileName().toString().toLowerCase(Locale.ROOT), new Located(dir, data.origin()));
                    }
                }
            } catch (IOException e) {
                // An unreadable directory hides nothing we could start; jupyter skips it too.
            }
        }
        // carpo's own kernels need no install; an installed spec of the same name wins.
        BuiltinKernelSpecs.list(paths.runtimeDir()).forEach((name, dir) -> found.putIfAbsent(name, new Located(dir, "built-in")));
        return found;
    }

    /**
     * Installs a built-in kernel ({@code carpo-lua}, {@code carpo-java}) for Jupyter itself: its
     * kernel.json, running this JVM's java with this classpath, in {@code kernelsDir/<name>}.
     *
     * @return the spec directory written
     */
    public static Path installBuiltin(String name, Path kernelsDir) throws IOException {
        return BuiltinKernelSpecs.install(name, kernelsDir);
    }

    /** The user's Jupyter kernels directory ({@code <user data dir>/kernels}), where an install goes by default. */
    public Path userKernelsDir() {
        return paths.userDataDir().resolve("kernels");
    }

    /** Finds a spec by name (case-insensitive); the error names every place searched. */
    public KernelSpec find(String name) {
        Path dir = list().get(name.toLowerCase(Locale.ROOT));
        if (dir == null) {
            StringBuilder where = new StringBuilder();
            for (Path p : searchPath()) {
                where.append("\n  ").append(p.resolve(name).resolve("kernel.json"));
            }
            throw new KernelSpecException("no kernelspec named '" + name + "'; searched:" + where
                    + "\navailable: " + (list().isEmpty() ? "none" : String.join(", ", list().keySet())));
        }
        return KernelSpec.read(dir.resolve("kernel.json"));
    }

    /**
     * A spec given as a name, a spec directory, or a path to a kernel.json. A value containing a
     * path separator or ending in {@code .json} is a path; anything else is a name.
     */
    public KernelSpec resolve(String nameOrPath) {
        if (nameOrPath == null || nameOrPath.isBlank()) {
            throw new KernelSpecException("kernelspec is empty: give a name such as 'python3', a spec directory, or a kernel.json");
        }
        if (!nameOrPath.contains("/") && !nameOrPath.endsWith(".json")) {
            return find(nameOrPath);
        }
        Path path = Path.of(nameOrPath);
        Path file = Files.isDirectory(path) ? path.resolve("kernel.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new KernelSpecException("no kernelspec at " + path.toAbsolutePath()
                    + (Files.isDirectory(path) ? " (directory has no kernel.json)" : " (no such file)"));
        }
        return KernelSpec.read(file);
    }
}

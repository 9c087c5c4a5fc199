package dev.carpo.pool.examples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The repository's README and its Java example programs, as the tests read them. */
final class ExampleFiles {
    /** The repository root: {@code carpo.home} where the build sets it, else the module's parent (surefire runs in the module). */
    static final Path HOME = Path.of(System.getProperty("carpo.home", "..")).toAbsolutePath().normalize();
    static final Path README = HOME.resolve("README.md");
    static final Path EXAMPLES = HOME.resolve("examples/java");

    private ExampleFiles() {
    }

    /** Every {@code .java} file under examples/java, by its path from the repository root, sorted. */
    static Map<String, List<String>> examples() {
        if (!Files.isDirectory(EXAMPLES)) {
            throw new IllegalStateException("no " + EXAMPLES + " (carpo.home is " + HOME + ")");
        }
        Map<String, List<String>> files = new LinkedHashMap<>();
        try (Stream<Path> walk = Files.walk(EXAMPLES)) {
            for (Path p : walk.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                files.put(HOME.relativize(p).toString(), Files.readAllLines(p));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    static List<String> readme() throws IOException {
        return Files.readAllLines(README);
    }
}

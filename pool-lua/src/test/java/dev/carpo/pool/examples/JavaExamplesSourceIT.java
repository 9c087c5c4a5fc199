package dev.carpo.pool.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpo.pool.examples.ExampleJvm.Run;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's way to run an example, {@code java -cp pool-lua/target/carpo.jar examples/java/X.java},
 * on the packaged jar: each example compiles, on its own as the source launcher compiles it, with
 * nothing but carpo.jar (the build compiles them on the test classpath, which has more), and one runs.
 */
class JavaExamplesSourceIT {
    static final String JAR = Path.of(System.getProperty("carpo.jar", "target/carpo.jar")).toAbsolutePath().toString();

    @TempDir
    Path dir;

    @Test
    void everyExampleCompilesAloneAgainstCarpoJar() throws Exception {
        assertThat(Path.of(JAR)).as("carpo.jar (mvn package)").isRegularFile();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        Map<String, List<String>> examples = ExampleFiles.examples();
        assertThat(examples).isNotEmpty();
        List<String> failures = new ArrayList<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, null, null)) {
            for (String example : examples.keySet()) {
                Path out = Files.createDirectories(dir.resolve(Path.of(example).getFileName().toString()));
                Iterable<? extends JavaFileObject> source = files.getJavaFileObjects(ExampleFiles.HOME.resolve(example));
                StringWriter diagnostics = new StringWriter();
                boolean ok = javac.getTask(diagnostics, files, null,
                        List.of("-classpath", JAR, "-d", out.toString(), "-proc:none", "-Xlint:all", "-Werror"), null, source).call();
                if (!ok) {
                    failures.add(example + ":\n" + diagnostics);
                }
            }
        }
        assertThat(failures).as("examples that do not compile with carpo.jar alone").isEmpty();
    }

    @Test
    void anExampleRunsWithTheSourceLauncherOnCarpoJar() throws Exception {
        Run run = ExampleJvm.runSource(dir, Duration.ofSeconds(180), JAR, "BuiltinKernels");
        assertThat(run.exit()).as(run.transcript()).isZero();
        assertThat(run.stdout()).as(run.transcript()).containsExactly("ababab", "55");
    }
}

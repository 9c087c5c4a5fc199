package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Pins the public API, as jupyter_client's {@code test_public_api.py} does: every public type of
 * {@code dev.carpo.pool} with its public and protected members, and the names of the public types
 * of the other packages. A change to either fails here with the difference; when it is meant,
 * regenerate the list with {@code mvn -pl pool-core test -Dtest=PublicApiTest -Dcarpo.api.update=true}
 * and review the diff of {@code src/test/resources/public-api.txt}.
 */
class PublicApiTest {
    private static final Path PINNED = Path.of("src/test/resources/public-api.txt");
    private static final List<String> PACKAGES = List.of("dev.carpo.pool", "dev.carpo.pool.engine", "dev.carpo.pool.kernel",
            "dev.carpo.pool.metrics", "dev.carpo.pool.protocol", "dev.carpo.pool.server");

    @Test
    void thePublicApiIsTheOnePinned() throws Exception {
        List<String> actual = describe();
        if (Boolean.getBoolean("carpo.api.update")) {
            Files.write(PINNED, actual, StandardCharsets.UTF_8);
        }
        List<String> pinned = Files.readAllLines(PINNED, StandardCharsets.UTF_8);
        List<String> added = actual.stream().filter(l -> !pinned.contains(l)).toList();
        List<String> removed = pinned.stream().filter(l -> !actual.contains(l)).toList();
        assertThat(added).as("public API added (not in %s); if meant, regenerate with -Dcarpo.api.update=true", PINNED).isEmpty();
        assertThat(removed).as("public API removed or changed (still in %s); if meant, regenerate with -Dcarpo.api.update=true", PINNED).isEmpty();
    }

    @Test
    void theApiPackageHoldsOnlyApiTypes() throws Exception {
        // Internals in the API package are package-private, or belong in dev.carpo.pool.engine.
        List<String> hidden = new ArrayList<>();
        for (Class<?> c : classesOf("dev.carpo.pool")) {
            if (!Modifier.isPublic(c.getModifiers()) && c.getEnclosingClass() == null && !c.isAnonymousClass()) {
                hidden.add(c.getName());
            }
        }
        assertThat(hidden).as("package-private types in the API package").isEmpty();
    }

    private static List<String> describe() throws Exception {
        List<String> lines = new ArrayList<>();
        for (String pkg : PACKAGES) {
            for (Class<?> c : classesOf(pkg)) {
                if (!isExported(c)) {
                    continue;
                }
                lines.add(header(c));
                if (pkg.equals("dev.carpo.pool")) {
                    lines.addAll(members(c));
                }
            }
        }
        return lines;
    }

    private static boolean isExported(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers())) {
                return false;
            }
        }
        return !c.isAnonymousClass() && !c.isSynthetic();
    }

    /** {@code final class dev.carpo.pool.KernelLease implements java.lang.AutoCloseable}, and so on. */
    private static String header(Class<?> c) {
        String kind = c.isRecord() ? "record" : c.isEnum() ? "enum" : c.isAnnotation() ? "@interface"
                : c.isInterface() ? "interface" : "class";
        String modifiers = c.isInterface() || c.isEnum() || c.isRecord() ? ""
                : (Modifier.isAbstract(c.getModifiers()) ? "abstract " : "") + (Modifier.isFinal(c.getModifiers()) ? "final " : "");
        String supertype = c.getSuperclass() != null && c.getSuperclass() != Object.class && !c.isEnum() && !c.isRecord()
                ? " extends " + c.getGenericSuperclass().getTypeName() : "";
        String interfaces = c.getGenericInterfaces().length == 0 ? ""
                : " implements " + String.join(", ", Arrays.stream(c.getGenericInterfaces()).map(t -> t.getTypeName()).sorted().toList());
        return modifiers + kind + " " + c.getName() + supertype + interfaces;
    }

    private static List<String> members(Class<?> c) {
        List<String> out = new ArrayList<>();
        Stream.<Member>concat(Stream.concat(Arrays.stream(c.getDeclaredConstructors()), Arrays.stream(c.getDeclaredMethods())),
                        Arrays.stream(c.getDeclaredFields()))
                .filter(m -> (m.getModifiers() & (Modifier.PUBLIC | Modifier.PROTECTED)) != 0 && !m.isSynthetic())
                .filter(m -> !(m instanceof Method method && method.isBridge()))
                .map(m -> "  " + c.getName() + ": " + signature(m))
                .sorted()
                .forEach(out::add);
        return out;
    }

    private static String signature(Member m) {
        String s = m instanceof Method method ? method.toGenericString()
                : m instanceof Constructor<?> ctor ? ctor.toGenericString()
                : ((Field) m).toGenericString();
        return s.replace("java.lang.", "");
    }

    private static List<Class<?>> classesOf(String pkg) throws IOException, URISyntaxException, ClassNotFoundException {
        Path root = Path.of(LanguagePool.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path dir = root.resolve(pkg.replace('.', '/'));
        List<Class<?>> classes = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".class") && !name.equals("package-info.class")) {
                    classes.add(Class.forName(pkg + "." + name.substring(0, name.length() - ".class".length()), false,
                            PublicApiTest.class.getClassLoader()));
                }
            }
        }
        classes.sort((a, b) -> a.getName().compareTo(b.getName()));
        return classes;
    }
}

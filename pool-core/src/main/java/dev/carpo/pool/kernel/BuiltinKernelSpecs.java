package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.WireCodec;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The built-in kernels' kernelspecs, written as real spec directories (so they start, list and
 * install like any other) in the user's private Jupyter runtime dir, keyed by this JVM's java and
 * classpath, since the kernel runs with exactly those.
 */
final class BuiltinKernelSpecs {
    private BuiltinKernelSpecs() {
    }

    /**
     * Every built-in kernel on the classpath by name, its spec directory written if needed under
     * {@code privateDir} (the user's Jupyter runtime dir, 0700: a kernel.json there decides what
     * runs, so no other user may write it). A spec that cannot be written is left out, with a warning.
     */
    static Map<String, Path> list(Path privateDir) {
        holdInUse(privateDir);
        Map<String, Path> specs = new LinkedHashMap<>();
        for (BuiltinKernel kernel : ServiceLoader.load(BuiltinKernel.class, BuiltinKernelSpecs.class.getClassLoader())) {
            try {
                specs.putIfAbsent(kernel.name().toLowerCase(Locale.ROOT), write(kernel, privateDir));
            } catch (IOException e) {
                org.slf4j.LoggerFactory.getLogger(BuiltinKernelSpecs.class)
                        .warn("built-in kernel {} left out: cannot write its spec in {}: {}", kernel.name(), privateDir, e.toString());
            }
        }
        BuiltinSpecDirs.removeStaleOnce(specsDir(privateDir).getParent(), specsDir(privateDir));
        return specs;
    }

    /** Marks this JVM's spec directory as in use before writing in it, so no other JVM removes it as stale meanwhile. */
    private static void holdInUse(Path privateDir) {
        try {
            JupyterPaths.ensurePrivateDir(privateDir);
            BuiltinSpecDirs.holdInUse(specsDir(privateDir));
        } catch (IOException e) {
            // Writing the specs fails the same way, and warns.
            org.slf4j.LoggerFactory.getLogger(BuiltinKernelSpecs.class).debug("cannot mark {} in use: {}", specsDir(privateDir), e.toString());
        }
    }

    /** {@code <privateDir>/carpo-kernels/<key>}: one directory per java and classpath, so JVMs with other classpaths (tests, another jar) never overwrite each other's specs. */
    static Path specsDir(Path privateDir) {
        String key = Integer.toHexString((System.getProperty("java.home") + File.pathSeparator + classpath()).hashCode());
        return privateDir.resolve("carpo-kernels").resolve(key);
    }

    /**
     * Writes a built-in kernel's spec into {@code kernelsDir/<name>/kernel.json}, where Jupyter finds
     * it (a {@code kernels} directory on its data path).
     *
     * @throws KernelSpecException naming the built-in kernels, when there is none by that name
     */
    static Path install(String name, Path kernelsDir) throws IOException {
        List<String> names = new ArrayList<>();
        for (BuiltinKernel kernel : ServiceLoader.load(BuiltinKernel.class, BuiltinKernelSpecs.class.getClassLoader())) {
            if (kernel.name().equalsIgnoreCase(name)) {
                Path dir = Files.createDirectories(kernelsDir.resolve(kernel.name()));
                Files.writeString(dir.resolve("kernel.json"),
                        WireCodec.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(kernelJson(kernel)) + "\n");
                return dir;
            }
            names.add(kernel.name());
        }
        throw new KernelSpecException("no built-in kernel named '" + name + "'; built-in kernels: " + String.join(", ", names));
    }

    /** kernel.json for this JVM: its java binary and its classpath, made absolute. */
    static ObjectNode kernelJson(BuiltinKernel kernel) {
        ObjectNode spec = WireCodec.mapper().createObjectNode();
        ArrayNode argv = spec.putArray("argv");
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        kernel.jvmOptions().forEach(argv::add);
        argv.add("-cp");
        argv.add(classpath());
        argv.add(kernel.mainClass());
        argv.add("{connection_file}");
        spec.put("display_name", kernel.displayName());
        spec.put("language", kernel.language());
        spec.put("interrupt_mode", "message");
        spec.putObject("metadata").put("carpo_builtin", true);
        return spec;
    }

    private static String classpath() {
        List<String> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                entries.add(Path.of(entry).toAbsolutePath().normalize().toString());
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static Path write(BuiltinKernel kernel, Path privateDir) throws IOException {
        ObjectNode json = kernelJson(kernel);
        JupyterPaths.ensurePrivateDir(privateDir);
        Path dir = specsDir(privateDir).resolve(kernel.name());
        Path file = dir.resolve("kernel.json");
        Files.createDirectories(dir);
        byte[] bytes = WireCodec.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
        if (!Files.isRegularFile(file) || !java.util.Arrays.equals(Files.readAllBytes(file), bytes)) {
            // Written aside and moved, so a JVM reading it meanwhile never sees half a file.
            Path tmp = Files.createTempFile(dir, "kernel", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return dir;
    }
}

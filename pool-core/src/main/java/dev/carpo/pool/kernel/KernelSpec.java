package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.WireCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A kernelspec: how to start one kind of kernel, read from {@code <resource dir>/kernel.json}.
 *
 * <p>Example: {@code KernelSpec py = KernelSpecs.fromEnvironment().find("python3");}
 *
 * @param name the spec's name (its directory's name)
 * @param resourceDir the directory holding kernel.json and the kernel's resources ({@code null} for a
 *        spec listed by a Jupyter Server, whose files stay there)
 * @param argv the command line, with {@code {connection_file}} and {@code {resource_dir}} placeholders
 * @param displayName human-readable name
 * @param language the kernel's language, such as {@code python}
 * @param env variables set over the parent environment when launching
 * @param interruptMode how to interrupt the kernel
 * @param metadata free-form metadata
 */
public record KernelSpec(
        String name,
        Path resourceDir,
        List<String> argv,
        String displayName,
        String language,
        Map<String, String> env,
        InterruptMode interruptMode,
        ObjectNode metadata) {

    public KernelSpec {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
    }

    /** Reads and validates a kernel.json; errors name the file and the field. */
    public static KernelSpec read(Path kernelJson) {
        Path file = kernelJson.toAbsolutePath().normalize();
        JsonNode root;
        try {
            root = WireCodec.mapper().readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new KernelSpecException("cannot read kernelspec " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new KernelSpecException("kernelspec " + file + " is not a JSON object");
        }
        Path dir = file.getParent();
        return new KernelSpec(
                dir.getFileName().toString().toLowerCase(Locale.ROOT),
                dir,
                argv(file, root.get("argv")),
                optionalText(file, root, "display_name", dir.getFileName().toString()),
                optionalText(file, root, "language", ""),
                env(file, root.get("env")),
                interruptMode(file, root.get("interrupt_mode")),
                metadata(file, root.get("metadata")));
    }

    /**
     * A kernelspec as a Jupyter Server lists it under {@code GET /api/kernelspecs}; errors name
     * {@code source} (the server's URL and the spec).
     */
    static KernelSpec fromServer(String name, JsonNode spec, String source) {
        if (spec == null || !spec.isObject()) {
            throw new KernelSpecException("kernelspec " + source + " has no spec object");
        }
        JsonNode argv = spec.get("argv");
        return new KernelSpec(
                name,
                null,
                argv == null || argv.isEmpty() ? List.of(name) : argv(source, argv),
                optionalText(source, spec, "display_name", name),
                optionalText(source, spec, "language", ""),
                env(source, spec.get("env")),
                interruptMode(source, spec.get("interrupt_mode")),
                metadata(source, spec.get("metadata")));
    }

    /**
     * The kernel provisioner the spec names in {@code metadata.kernel_provisioner.provisioner_name},
     * as jupyter_client reads it, or {@code null} for none (a process, as jupyter_client's default
     * {@code local-provisioner}). See {@link KernelRuntime#serveInProcess}.
     */
    public String provisionerName() {
        if (metadata == null) {
            return null;
        }
        com.fasterxml.jackson.databind.JsonNode name = metadata.path("kernel_provisioner").path("provisioner_name");
        return name.isTextual() && !name.asText().isBlank() ? name.asText() : null;
    }

    /** Where the spec comes from, for messages: its resource dir, or "remote". */
    public String origin() {
        return resourceDir != null ? resourceDir.toString() : "remote";
    }

    private static List<String> argv(Object file, JsonNode node) {
        if (node == null) {
            throw field(file, "argv", "is missing");
        }
        if (!node.isArray() || node.isEmpty()) {
            throw field(file, "argv", "must be a non-empty array of strings");
        }
        List<String> argv = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            if (!node.get(i).isTextual()) {
                throw field(file, "argv[" + i + "]", "must be a string, got " + node.get(i).getNodeType());
            }
            argv.add(node.get(i).asText());
        }
        return argv;
    }

    private static String optionalText(Object file, JsonNode root, String fieldName, String fallback) {
        JsonNode node = root.get(fieldName);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isTextual()) {
            throw field(file, fieldName, "must be a string, got " + node.getNodeType());
        }
        return node.asText();
    }

    private static Map<String, String> env(Object file, JsonNode node) {
        Map<String, String> env = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return env;
        }
        if (!node.isObject()) {
            throw field(file, "env", "must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw field(file, "env." + e.getKey(), "must be a string, got " + e.getValue().getNodeType());
            }
            env.put(e.getKey(), e.getValue().asText());
        }
        return env;
    }

    private static InterruptMode interruptMode(Object file, JsonNode node) {
        if (node == null || node.isNull()) {
            return InterruptMode.SIGNAL;
        }
        String mode = node.isTextual() ? node.asText() : "";
        return switch (mode) {
            case "signal" -> InterruptMode.SIGNAL;
            case "message" -> InterruptMode.MESSAGE;
            default -> throw field(file, "interrupt_mode", "must be \"signal\" or \"message\", got " + node);
        };
    }

    private static ObjectNode metadata(Object file, JsonNode node) {
        if (node == null || node.isNull()) {
            return WireCodec.mapper().createObjectNode();
        }
        if (!node.isObject()) {
            throw field(file, "metadata", "must be an object");
        }
        return (ObjectNode) node;
    }

    private static KernelSpecException field(Object file, String fieldName, String problem) {
        return new KernelSpecException("kernelspec " + file + ": field '" + fieldName + "' " + problem);
    }
}

package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts a kernel as a local child process, as jupyter_client's {@code LocalProvisioner}: argv
 * placeholders filled in, no shell, the spec's env over ours, {@code JPY_PARENT_PID} set so the
 * kernel exits when this JVM dies (even by SIGKILL), and a new session ({@code setsid}) so a
 * Ctrl-C at the terminal reaches carpo, not every kernel. Where it can, in a PID namespace of its
 * own ({@link PidNamespace}) and a cgroup ({@link KernelCgroup}), with its memory limit watched
 * ({@link MemoryWatchdog}).
 */
final class LocalProvisioner {
    private static final Path SETSID = Path.of("/usr/bin/setsid");
    private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    private LocalProvisioner() {
    }

    static KernelProcess launch(String kernelId, KernelSpec spec, Path connectionFile, KernelOptions options, Path stderrFile) {
        List<String> command = new ArrayList<>();
        boolean ownSession = Files.isExecutable(SETSID);
        List<String> namespace = PidNamespace.prefix();
        if (ownSession) {
            // Outside bwrap too, so a Ctrl-C at the terminal reaches neither bwrap nor the kernel.
            command.add(SETSID.toString());
        }
        command.addAll(namespace);
        if (ownSession && !namespace.isEmpty()) {
            // The kernel's own session and group (bwrap's init is not in it): SIGINT goes to that group.
            command.add(SETSID.toString());
        }
        command.addAll(argv(spec, connectionFile));
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        // Spec env values may refer to the parent's variables as ${NAME}, as jupyter_client allows.
        Map<String, String> parent = Map.copyOf(env);
        spec.env().forEach((k, v) -> env.put(k, substitute(v, parent)));
        env.putAll(options.env());
        // In a namespace the kernel's parent is bwrap's init (pid 1), which ipykernel's parent poller would
        // take for "parent gone": 1 turns the poller off; --die-with-parent ends the namespace with the JVM.
        env.put("JPY_PARENT_PID", namespace.isEmpty() ? Long.toString(ProcessHandle.current().pid()) : "1");
        if (options.workingDirectory() != null) {
            if (!Files.isDirectory(options.workingDirectory())) {
                throw new KernelStartException("kernel working directory " + options.workingDirectory() + " does not exist");
            }
            builder.directory(options.workingDirectory().toFile());
        }
        requireExecutable(spec, command.get(command.size() - spec.argv().size()), env.get("PATH"));
        builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.redirectError(stderrFile.toFile());
        KernelCgroup cgroup = null;
        if (options.maxProcesses() > 0 && !Cgroups.roots().pids()) {
            throw new KernelStartException(KernelLimits.noPidsCgroup());
        }
        if (Cgroups.enabled()) {
            cgroup = KernelCgroup.create(kernelId, options.memoryLimit(), options.maxProcesses(), namespace.isEmpty() ? 0 : 2);
        }
        try {
            return new KernelProcess(PidNamespace.start(builder), stderrFile, ownSession, !namespace.isEmpty(), cgroup, options.memoryLimit());
        } catch (IOException e) {
            if (cgroup != null) {
                cgroup.remove();
            }
            throw new KernelStartException("kernelspec '" + spec.name() + "' (" + spec.resourceDir()
                    + "): cannot run " + spec.argv().get(0) + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (cgroup != null) {
                MemoryWatchdog.removeWhenEmpty(cgroup);
            }
            throw e;
        }
    }

    /** Fails now, naming the spec, rather than letting setsid report a missing program as an exit code. */
    private static void requireExecutable(KernelSpec spec, String program, String path) {
        boolean found;
        if (program.contains("/")) {
            found = Files.isExecutable(Path.of(program)) && !Files.isDirectory(Path.of(program));
        } else {
            found = path != null && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
                    .filter(dir -> !dir.isEmpty())
                    .map(dir -> Path.of(dir, program))
                    .anyMatch(p -> Files.isExecutable(p) && !Files.isDirectory(p));
        }
        if (!found) {
            throw new KernelStartException("kernelspec '" + spec.name() + "' (" + spec.resourceDir() + "): cannot run "
                    + program + ": " + (program.contains("/") ? "no such executable file" : "not found on PATH " + path));
        }
    }

    static List<String> argv(KernelSpec spec, Path connectionFile) {
        List<String> argv = new ArrayList<>(spec.argv().size());
        for (String arg : spec.argv()) {
            argv.add(arg.replace("{connection_file}", connectionFile.toString())
                    .replace("{resource_dir}", spec.resourceDir().toString()));
        }
        return argv;
    }

    static String substitute(String value, Map<String, String> env) {
        Matcher m = ENV_REF.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement = env.get(m.group(1));
            m.appendReplacement(out, Matcher.quoteReplacement(replacement != null ? replacement : m.group()));
        }
        m.appendTail(out);
        return out.toString();
    }
}

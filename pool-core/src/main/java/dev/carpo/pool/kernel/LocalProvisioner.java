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
 * ({@link MemoryWatchdog}). Sandboxed ({@link KernelOptions#sandbox()}), under a bwrap of its own
 * making ({@link SandboxArgs}) instead, from a clean environment.
 */
final class LocalProvisioner {
    private static final Path SETSID = Path.of("/usr/bin/setsid");
    private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    private LocalProvisioner() {
    }

    /**
     * @param kernelDir the kernel's private directory (scratch, sockets), or {@code null} when it has none
     */
    static KernelProcess launch(String kernelId, KernelSpec spec, Path connectionFile, KernelOptions options, Path stderrFile,
                                KernelTempDir kernelDir) {
        ProcessBuilder builder = new ProcessBuilder();
        Map<String, String> env = builder.environment();
        // Spec env values may refer to the parent's variables as ${NAME}, as jupyter_client allows.
        Map<String, String> parent = Map.copyOf(env);
        spec.env().forEach((k, v) -> env.put(k, substitute(v, parent)));
        env.putAll(options.env());
        Path workingDirectory = options.workingDirectory();
        if (workingDirectory != null && !Files.isDirectory(workingDirectory)) {
            throw new KernelStartException("kernel working directory " + workingDirectory + " does not exist");
        }
        Path scratch = kernelDir == null ? null : kernelDir.scratch();
        List<String> argv = argv(spec, connectionFile);
        Path program = findProgram(spec, argv.get(0), env.get("PATH"));
        boolean ownSession = Files.isExecutable(SETSID);
        // bwrap's argv up to its "--": a sandbox of the kernel's own, or the PID namespace every kernel gets, or nothing.
        List<String> wrapper;
        if (options.sandbox() != null) {
            try {
                String bwrap = PidNamespace.sandboxBwrap();
                Path inside = workingDirectory != null ? workingDirectory.toAbsolutePath().normalize()
                        : scratch != null ? scratch : Path.of(SandboxArgs.HOME);
                wrapper = SandboxArgs.bwrap(bwrap, options.sandbox(), spec, program, connectionFile, inside, kernelDir, workingDirectory,
                        stderrFile.getParent());
            } catch (KernelStartException e) {
                throw new KernelStartException("kernelspec '" + spec.name() + "' (" + spec.resourceDir() + "): " + e.getMessage(), e);
            }
            // The program found here, not whatever the sandbox's PATH would find; by a path visible inside.
            argv.set(0, SandboxArgs.insideProgram(program, stderrFile.getParent()).toString());
            env.clear();
            env.putAll(SandboxArgs.environment(parent, spec, options.env(), program));
        } else {
            wrapper = PidNamespace.prefix();
            Path cwd = workingDirectory != null ? workingDirectory : scratch;
            if (cwd != null) {
                builder.directory(cwd.toFile());
            }
        }
        boolean namespaced = !wrapper.isEmpty();
        List<String> command = new ArrayList<>();
        if (ownSession) {
            // Outside bwrap too, so a Ctrl-C at the terminal reaches neither bwrap nor the kernel.
            command.add(SETSID.toString());
        }
        command.addAll(wrapper);
        if (ownSession && namespaced) {
            // The kernel's own session and group (bwrap's init is not in it): SIGINT goes to that group.
            command.add(SETSID.toString());
        }
        command.addAll(argv);
        builder.command(command);
        if (scratch != null) {
            env.put("CARPO_SCRATCH", scratch.toString());
        }
        // In a namespace the kernel's parent is bwrap's init (pid 1), which ipykernel's parent poller would
        // take for "parent gone": 1 turns the poller off; --die-with-parent ends the namespace with the JVM.
        env.put("JPY_PARENT_PID", namespaced ? "1" : Long.toString(ProcessHandle.current().pid()));
        builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.redirectError(stderrFile.toFile());
        KernelCgroup cgroup = null;
        if (options.maxProcesses() > 0 && !Cgroups.roots().pids()) {
            throw new KernelStartException(KernelLimits.noPidsCgroup());
        }
        if (Cgroups.enabled()) {
            cgroup = KernelCgroup.create(kernelId, options.memoryLimit(), options.maxProcesses(), namespaced ? 2 : 0);
        }
        try {
            return new KernelProcess(PidNamespace.start(builder), stderrFile, ownSession, namespaced, cgroup, options.memoryLimit());
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

    /**
     * The program as this host finds it (absolute), or a failure now, naming the spec, rather than
     * setsid reporting a missing program as an exit code.
     */
    private static Path findProgram(KernelSpec spec, String program, String path) {
        Path found = null;
        if (program.contains("/")) {
            Path p = Path.of(program).toAbsolutePath();
            found = Files.isExecutable(p) && !Files.isDirectory(p) ? p : null;
        } else if (path != null) {
            found = java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
                    .filter(dir -> !dir.isEmpty())
                    .map(dir -> Path.of(dir, program).toAbsolutePath())
                    .filter(p -> Files.isExecutable(p) && !Files.isDirectory(p))
                    .findFirst().orElse(null);
        }
        if (found == null) {
            throw new KernelStartException("kernelspec '" + spec.name() + "' (" + spec.resourceDir() + "): cannot run "
                    + program + ": " + (program.contains("/") ? "no such executable file" : "not found on PATH " + path));
        }
        return found;
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

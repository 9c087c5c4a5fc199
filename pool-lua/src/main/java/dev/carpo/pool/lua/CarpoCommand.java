package dev.carpo.pool.lua;

import dev.carpo.pool.kernel.Gateway;
import dev.carpo.pool.kernel.GatewayClient;
import dev.carpo.pool.kernel.GatewayException;
import dev.carpo.pool.kernel.JupyterPaths;
import dev.carpo.pool.kernel.KernelSpec;
import dev.carpo.pool.kernel.KernelSpecException;
import dev.carpo.pool.kernel.KernelSpecs;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jline.utils.Signals;
import org.luaj.vm2.LuaError;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The {@code carpo} command: {@code run SCRIPT.lua}, {@code kernels}, {@code repl}.
 *
 * <p>Example: {@code ./carpo run examples/quickstart.lua --metrics-port 9464}
 */
@Command(name = "carpo", mixinStandardHelpOptions = true, versionProvider = CarpoCommand.VersionProvider.class,
        description = "Pools of live Jupyter kernels, driven from Lua.",
        subcommands = {CarpoCommand.Run.class, CarpoCommand.Kernels.class, CarpoCommand.InstallKernel.class, CarpoCommand.Repl.class, CommandLine.HelpCommand.class})
public final class CarpoCommand implements Runnable {
    @Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        return new CommandLine(new CarpoCommand()).setParameterExceptionHandler((e, args) -> {
            // The error, then the usage of the (sub)command that was misused, as --help would show it.
            CommandLine misused = e.getCommandLine();
            PrintWriter err = misused.getErr();
            err.println("carpo: " + problem(e));
            misused.usage(err);
            return misused.getCommandSpec().exitCodeOnInvalidInput();
        });
    }

    /**
     * The error line: an unknown command or option is named, with the names it is close to
     * ({@link Suggestions}, in place of picocli's, which miss swapped letters); anything else as
     * picocli says it.
     */
    static String problem(CommandLine.ParameterException e) {
        if (!(e instanceof CommandLine.UnmatchedArgumentException unmatched) || unmatched.getUnmatched().isEmpty()) {
            return e.getMessage();
        }
        CommandLine misused = e.getCommandLine();
        String typed = unmatched.getUnmatched().get(0);
        String where = misused.getParent() == null ? "" : misused.getCommandName() + ": ";
        List<String> close;
        String what;
        if (unmatched.isUnknownOption()) {
            what = "unknown option";
            close = Suggestions.closest(typed, misused.getCommandSpec().options().stream().map(o -> o.longestName()).toList());
        } else if (misused.getParent() == null && !misused.getSubcommands().isEmpty()) {
            what = "unknown command";
            close = Suggestions.closest(typed, new ArrayList<>(misused.getSubcommands().keySet()));
        } else {
            return where + "unexpected argument '" + typed + "'";
        }
        return where + what + " '" + typed + "'" + (close.isEmpty() ? "" : "; did you mean " + Suggestions.alternatives(close) + "?");
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "say what to do: run SCRIPT.lua, kernels, or repl");
    }

    /** {@code carpo run SCRIPT.lua [ARGS...] [--metrics-port N]}. */
    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Runs a Lua script with the carpo module loaded.",
                    "Every kernel it started is shut down at the end, on Ctrl-C too. Exit code 1 on a script error, "
                            + "with the Lua traceback on stderr; 130 after Ctrl-C."})
    static final class Run implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SCRIPT.lua", description = "the script")
        Path script;

        @Parameters(index = "1..*", paramLabel = "ARG", description = "passed to the script as arg[1], arg[2], ...")
        List<String> args = new ArrayList<>();

        @Option(names = "--metrics-port", paramLabel = "N",
                description = "serve the pools' metrics for Prometheus at http://127.0.0.1:N/metrics (0: any free port)")
        Integer metricsPort;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--metrics-port must be 0 (any free port) to 65535, got " + metricsPort);
            }
            AtomicBoolean finished = new AtomicBoolean();
            AtomicBoolean interrupted = new AtomicBoolean();
            AtomicReference<LuaSession> session = new AtomicReference<>();
            java.util.function.Consumer<String> stopped = cause -> {
                if (!finished.get() && interrupted.compareAndSet(false, true)) {
                    System.err.println("carpo: " + interruption(session.get(), cause));
                }
            };
            // Ctrl-C: say what it stops, then exit 130 as the JVM's own handler would; exiting runs the shutdown
            // hooks, and the kernel runtime's shuts every kernel down. Said first, because hooks run all at once:
            // from a hook, the runtime's would already be failing the jobs this one counts.
            Signals.register("INT", () -> {
                stopped.accept("interrupted (Ctrl-C)");
                System.exit(130);
            });
            // Stopped any other way (SIGTERM, SIGHUP): said from a hook.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stopped.accept("stopped"), "carpo-stopped"));
            try (LuaSession lua = LuaSession.builder().progress(System.err).build()) {
                session.set(lua);
                if (metricsPort != null) {
                    String url = lua.eval("return carpo.serve_metrics(" + metricsPort + ")", "--metrics-port").arg1().tojstring();
                    System.err.println("carpo: metrics at " + url);
                }
                lua.run(script, args);
                return 0;
            } catch (NoSuchFileException e) {
                System.err.println("carpo: no such script: " + script);
                return 2;
            } catch (LuaError e) {
                if (!interrupted.get()) { // after Ctrl-C, jobs fail because their kernels are going: not news
                    System.err.println("carpo: error: " + LuaErrors.withTraceback(e));
                }
                return 1;
            } catch (IOException e) {
                System.err.println("carpo: cannot read " + script + ": " + e.getMessage());
                return 2;
            } catch (StackOverflowError e) {
                System.err.println("carpo: error: " + script + ": stack overflow (a function that calls itself without end?)");
                return 1;
            } catch (RuntimeException e) {
                System.err.println("carpo: error: " + script + ": " + e);
                return 1;
            } finally {
                finished.set(true);
            }
        }
    }

    /**
     * What stopping {@code carpo run} stops, as far as there is any: {@code interrupted (Ctrl-C)} (the
     * {@code cause}), then {@code ; cancelling 2 jobs and shutting 2 kernels down}. The kernel
     * runtime's shutdown hook does the cancelling and shutting down.
     */
    static String interruption(LuaSession lua, String cause) {
        String said = cause;
        if (lua == null) {
            return said;
        }
        String work = lua.unfinishedWork();
        int kernels;
        try {
            kernels = lua.pools().pools().values().stream().mapToInt(p -> p.stats().instances().size()).sum();
        } catch (RuntimeException closing) {
            kernels = -1; // a pool the runtime's hook already took apart: say no number rather than a wrong one
        }
        String shutting = kernels == 0 ? null
                : "shutting " + (kernels < 0 ? "every kernel" : kernels == 1 ? "1 kernel" : kernels + " kernels") + " down";
        if (work == null) {
            return shutting == null ? said : said + "; " + shutting;
        }
        return said + "; cancelling " + work + (shutting == null ? "" : " and " + shutting);
    }

    /** {@code carpo kernels}: the discovered kernelspecs, like {@code jupyter kernelspec list}. */
    @Command(name = "kernels", mixinStandardHelpOptions = true,
            description = {"Lists the kernelspecs: Jupyter's (as `jupyter kernelspec list`) and carpo's built-in ones.",
                    "With --gateway, those a Jupyter Server or Enterprise Gateway offers."})
    static final class Kernels implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--gateway", paramLabel = "URL",
                description = "List the kernelspecs of this Jupyter Server / Enterprise Gateway (http:// or https://).")
        String gateway;

        @Option(names = "--token", paramLabel = "TOKEN",
                description = "The gateway's token (default: $JUPYTER_GATEWAY_AUTH_TOKEN).")
        String token;

        @Option(names = "--ca-cert", paramLabel = "PEM",
                description = "Trust the certificates in this PEM file for an https gateway (as curl --cacert), instead of the JVM's trust store.")
        Path caCert;

        @Option(names = "--paths", description = "Also list the directories searched, in Jupyter's order, and why each is there.")
        boolean paths;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            if (gateway != null) {
                return remoteSpecs(this, out);
            }
            if (token != null || caCert != null) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        (token != null ? "--token" : "--ca-cert") + " is for a gateway; give --gateway URL too");
            }
            KernelSpecs specs = KernelSpecs.fromEnvironment();
            Map<String, KernelSpecs.Located> found = specs.locate();
            if (found.isEmpty() || paths) {
                out.println(found.isEmpty() ? "No kernelspecs found; searched (DIR/kernels/NAME/kernel.json):"
                        : "Searched, highest priority first (DIR/kernels/NAME/kernel.json):");
                int dirWidth = specs.searchDirs().stream().mapToInt(d -> d.dir().toString().length()).max().orElse(0);
                for (JupyterPaths.SearchDir d : specs.searchDirs()) {
                    out.printf("  %-" + dirWidth + "s    %s%s%n", d.dir(), d.origin(), Files.isDirectory(d.dir().resolve("kernels")) ? "" : " (no kernels dir)");
                }
                if (found.isEmpty()) {
                    out.flush();
                    return 1;
                }
                out.println();
            }
            int width = found.keySet().stream().mapToInt(String::length).max().orElse(0);
            int pathWidth = found.values().stream().mapToInt(p -> p.dir().toString().length()).max().orElse(0);
            int originWidth = found.values().stream().mapToInt(p -> p.origin().length()).max().orElse(0);
            out.println("Available kernels:");
            for (Map.Entry<String, KernelSpecs.Located> e : found.entrySet()) {
                String about;
                try {
                    KernelSpec k = KernelSpec.read(e.getValue().dir().resolve("kernel.json"));
                    about = k.language() + ": " + k.displayName();
                } catch (KernelSpecException broken) {
                    about = "unreadable: " + broken.getMessage();
                }
                out.printf("  %-" + width + "s    %-" + pathWidth + "s    %-" + originWidth + "s    %s%n",
                        e.getKey(), e.getValue().dir(), e.getValue().origin(), about);
            }
            out.flush();
            return 0;
        }
    }

    /** {@code carpo install-kernel NAME}: a built-in kernel's spec where Jupyter finds it. */
    @Command(name = "install-kernel", mixinStandardHelpOptions = true,
            description = {"Installs a built-in kernel (carpo-lua, carpo-java) for Jupyter itself.",
                    "Notebooks, jupyter console and jupyter_client can then start it; the spec runs this java with carpo's jar."})
    static final class InstallKernel implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "NAME", description = "carpo-lua or carpo-java")
        String name;

        @Option(names = "--prefix", paramLabel = "DIR",
                description = "Install into DIR/share/jupyter/kernels (as `jupyter kernelspec install --prefix`) "
                        + "instead of the user's Jupyter data dir.")
        Path prefix;

        @Override
        public Integer call() throws IOException {
            KernelSpecs specs = KernelSpecs.fromEnvironment();
            Path kernels = prefix != null ? prefix.resolve("share/jupyter/kernels") : specs.userKernelsDir();
            try {
                Path dir = KernelSpecs.installBuiltin(name, kernels);
                spec.commandLine().getOut().println("Installed kernelspec " + name + " in " + dir.toAbsolutePath());
                spec.commandLine().getOut().flush();
                return 0;
            } catch (KernelSpecException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
    }

    /** The kernelspecs of a gateway; a gateway error is one line on stderr and exit code 1. */
    private static Integer remoteSpecs(Kernels k, PrintWriter out) {
        URI url;
        try {
            url = CarpoLib.gatewayUrl(k.gateway);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(k.spec.commandLine(), "--gateway: " + e.getMessage().replace("option 'gateway' ", ""));
        }
        String token = k.token != null ? k.token : System.getenv(CarpoLib.TOKEN_ENV);
        Gateway gateway;
        try {
            Gateway.Builder b = Gateway.builder(url).token(token);
            gateway = (k.caCert != null ? b.trustCertificates(k.caCert) : b).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(k.spec.commandLine(), "--ca-cert: " + e.getMessage());
        }
        try (GatewayClient client = GatewayClient.create(gateway)) {
            List<KernelSpec> specs = client.kernelSpecs();
            if (specs.isEmpty()) {
                out.println("No kernelspecs on " + client.gateway().url());
                out.flush();
                return 1;
            }
            int width = specs.stream().mapToInt(s -> s.name().length()).max().orElse(0);
            out.println("Available kernels on " + client.gateway().url() + ":");
            for (KernelSpec s : specs) {
                out.printf("  %-" + width + "s    %s: %s%n", s.name(), s.language(), s.displayName());
            }
            out.flush();
            return 0;
        } catch (GatewayException e) {
            k.spec.commandLine().getErr().println("carpo: error: " + e.getMessage());
            k.spec.commandLine().getErr().flush();
            return 1;
        }
    }

    /** {@code carpo repl}: an interactive Lua prompt. */
    @Command(name = "repl", mixinStandardHelpOptions = true,
            description = {"An interactive Lua prompt with carpo loaded.",
                    "Line editing, history (~/.carpo_history), multi-line input; a bare expression or =expr prints its "
                            + "value. Ctrl-C cancels the running execution, Ctrl-D exits and shuts every kernel down."})
    static final class Repl implements Callable<Integer> {
        @Override
        public Integer call() throws IOException {
            return new LuaRepl().run();
        }
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"carpo " + Version.get() + " (Java " + Runtime.version() + ", LuaJ 3.0.1)"};
        }
    }
}

package dev.carpo.pool.server;

import java.io.ByteArrayInputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.JShellException;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import jdk.jshell.VarSnippet;

/**
 * The {@code carpo-java} kernel: Java snippets on JShell, with state kept between cells. The
 * snippets run in JShell's own agent JVM, so {@code System.out}/{@code System.err} reach us as
 * streams and an interrupt ({@link JShell#stop()}) stops a loop without touching this JVM.
 *
 * <p>Run as {@code java -cp carpo.jar dev.carpo.pool.server.JavaKernel CONNECTION_FILE}.
 */
public final class JavaKernel implements Interpreter {
    private final StreamSink out = new StreamSink("stdout");
    private final StreamSink err = new StreamSink("stderr");
    private final JShell shell;
    private volatile boolean stopped;
    private final ScheduledExecutorService stopper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "carpo-java-stop");
        t.setDaemon(true);
        return t;
    });
    private ScheduledFuture<?> stopping; // guarded by this

    JavaKernel() {
        shell = JShell.builder()
                .in(new ByteArrayInputStream(new byte[0]))
                .out(new PrintStream(out, true, StandardCharsets.UTF_8))
                .err(new PrintStream(err, true, StandardCharsets.UTF_8))
                .build();
        // The imports the jshell tool starts with (its DEFAULT startup), which the JShell API leaves out.
        for (String pkg : DEFAULT_IMPORTS) {
            shell.eval("import " + pkg + ".*;");
        }
    }

    private static final List<String> DEFAULT_IMPORTS = List.of("java.io", "java.math", "java.net", "java.nio.file", "java.util",
            "java.util.concurrent", "java.util.function", "java.util.prefs", "java.util.regex", "java.util.stream");

    /** The built-in kernelspec {@code carpo-java}. */
    public static final class Spec extends dev.carpo.pool.kernel.BuiltinKernel {
        public Spec() {
            super("carpo-java", "Java (carpo, JShell)", "java", JavaKernel.class);
        }
    }

    public static void main(String[] args) throws Exception {
        KernelServer.main(args, JavaKernel::new);
    }

    @Override
    public LanguageInfo languageInfo() {
        String version = Runtime.version().toString();
        return new LanguageInfo("java", version, "text/x-java", ".jshell", "carpo-java", KernelServer.version(),
                "carpo-java: Java " + version + " on JShell");
    }

    @Override
    public Outcome execute(String code, Output output) {
        out.target(output);
        err.target(output);
        try {
            String value = null;
            String remaining = code;
            SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
            while (!remaining.isBlank()) {
                SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
                String source = info.source();
                if (source == null || info.completeness() == SourceCodeAnalysis.Completeness.DEFINITELY_INCOMPLETE
                        || info.completeness() == SourceCodeAnalysis.Completeness.CONSIDERED_INCOMPLETE) {
                    return new Failure("CompilationError", "incomplete input: " + remaining.strip(), List.of("incomplete input: " + remaining.strip()));
                }
                remaining = info.remaining();
                if (stopped) {
                    return new Failure("Interrupted", "execution was interrupted", List.of("Interrupted: " + source.strip()));
                }
                List<SnippetEvent> events = shell.eval(source);
                if (stopped) {
                    // JShell reports a stopped snippet as run; the cell was not, and what follows it must not run.
                    return new Failure("Interrupted", "execution was interrupted", List.of("Interrupted: " + source.strip()));
                }
                for (SnippetEvent event : events) {
                    Failure failure = failureOf(event);
                    if (failure != null) {
                        return failure;
                    }
                    if (event.causeSnippet() == null && event.value() != null && shows(event.snippet())) {
                        value = event.value();
                    } else if (event.causeSnippet() == null) {
                        value = null;
                    }
                    forgetTemporary(event);
                }
            }
            return new Value(value);
        } finally {
            out.target(null);
            err.target(null);
        }
    }

    /**
     * Drops the {@code $n} variable JShell makes for a bare expression's value: every active snippet
     * takes part in each later compilation, so a kernel that has answered thousands of expressions
     * would otherwise grow slower with each one (a cell's value is its result, not a variable).
     */
    private void forgetTemporary(SnippetEvent event) {
        if (event.causeSnippet() == null && event.snippet() instanceof VarSnippet v
                && v.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND && event.status().isActive()) {
            shell.drop(v);
        }
    }

    /** Only expressions (and JShell's $n temporaries for them) show a value, as a notebook shows one. */
    private static boolean shows(Snippet snippet) {
        if (snippet.kind() == Snippet.Kind.EXPRESSION) {
            return true;
        }
        return snippet instanceof VarSnippet v && v.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND;
    }

    private Failure failureOf(SnippetEvent event) {
        if (event.causeSnippet() != null) {
            return null;
        }
        JShellException exception = event.exception();
        if (exception instanceof EvalException e) {
            return new Failure(e.getExceptionClassName(), String.valueOf(e.getMessage()), trace(e.getExceptionClassName(), e));
        }
        if (exception instanceof UnresolvedReferenceException u) {
            String what = shell.unresolvedDependencies(u.getSnippet()).collect(Collectors.joining(", "));
            return new Failure("UnresolvedReference", "unresolved: " + what, List.of("unresolved: " + what));
        }
        if (event.status() == Snippet.Status.REJECTED) {
            List<String> lines = new ArrayList<>();
            shell.diagnostics(event.snippet()).filter(Diag::isError)
                    .forEach(d -> lines.add(d.getMessage(Locale.ROOT)));
            String message = lines.isEmpty() ? "rejected: " + event.snippet().source().strip() : String.join("\n", lines);
            List<String> traceback = new ArrayList<>(List.of("CompilationError: " + event.snippet().source().strip()));
            traceback.addAll(lines);
            return new Failure("CompilationError", message, traceback);
        }
        return null;
    }

    private static List<String> trace(String className, EvalException e) {
        List<String> lines = new ArrayList<>();
        lines.add(className + (e.getMessage() != null ? ": " + e.getMessage() : ""));
        for (StackTraceElement frame : e.getStackTrace()) {
            lines.add("\tat " + frame);
        }
        return lines;
    }

    @Override
    public void interrupt() {
        stopped = true;
        shell.stop();
        // JShell ignores stop() while it is still compiling the snippet: keep asking until the cell ends.
        // Under the monitor, so clearInterrupt() waits out a stop in progress and none hits the next cell.
        synchronized (this) {
            if (stopping == null) {
                stopping = stopper.scheduleWithFixedDelay(() -> {
                    synchronized (this) {
                        if (stopped && stopping != null) {
                            shell.stop();
                        }
                    }
                }, 50, 50, TimeUnit.MILLISECONDS);
            }
        }
    }

    @Override
    public void clearInterrupt() {
        synchronized (this) {
            stopped = false;
            if (stopping != null) {
                stopping.cancel(false);
                stopping = null;
            }
        }
    }

    @Override
    public Completion complete(String code, int cursorPos) {
        int[] anchor = new int[1];
        List<String> matches = new ArrayList<>();
        for (SourceCodeAnalysis.Suggestion s : shell.sourceCodeAnalysis().completionSuggestions(code, cursorPos, anchor)) {
            if (!matches.contains(s.continuation())) {
                matches.add(s.continuation());
            }
        }
        return new Completion(matches, matches.isEmpty() ? cursorPos : anchor[0], cursorPos);
    }

    @Override
    public Completeness isComplete(String code) {
        if (code.isBlank()) {
            return new Completeness("complete", "");
        }
        return switch (shell.sourceCodeAnalysis().analyzeCompletion(code).completeness()) {
            case COMPLETE, COMPLETE_WITH_SEMI, EMPTY -> new Completeness("complete", "");
            case DEFINITELY_INCOMPLETE, CONSIDERED_INCOMPLETE -> new Completeness("incomplete", "    ");
            case UNKNOWN -> new Completeness("invalid", "");
        };
    }

    @Override
    public void close() {
        stopper.shutdownNow();
        shell.close();
    }
}

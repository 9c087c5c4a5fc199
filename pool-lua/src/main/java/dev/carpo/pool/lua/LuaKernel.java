package dev.carpo.pool.lua;

import dev.carpo.pool.server.Interpreter;
import dev.carpo.pool.server.KernelServer;
import dev.carpo.pool.server.StreamSink;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaFunction;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.ZeroArgFunction;
import org.luaj.vm2.lib.jse.JsePlatform;

/**
 * The {@code carpo-lua} kernel: Lua 5.2 on LuaJ, state kept between cells. {@code print} and
 * {@code io.write} go to stdout, {@code io.stderr:write} to stderr; a cell that is an expression
 * ({@code 1 + 2}) shows its value; errors carry a Lua traceback; an interrupt stops even a tight
 * loop (a count hook checks for it every 1,000 instructions).
 *
 * <p>Run as {@code java -cp carpo.jar dev.carpo.pool.lua.LuaKernel CONNECTION_FILE}.
 */
public final class LuaKernel implements Interpreter {
    private static final String INTERRUPTED = "interrupted";

    private final Globals globals = JsePlatform.debugGlobals();
    private final StreamSink out = new StreamSink("stdout");
    private final StreamSink err = new StreamSink("stderr");
    private volatile boolean interrupted;

    LuaKernel() {
        // No autoflush: the sinks send a line at a time, and execute() flushes what is left.
        globals.STDOUT = new PrintStream(out, false, StandardCharsets.UTF_8);
        globals.STDERR = new PrintStream(err, false, StandardCharsets.UTF_8);
        globals.STDIN = new java.io.ByteArrayInputStream(new byte[0]); // no stdin: io.read() sees end of input
        LuaFunction hook = new ZeroArgFunction() {
            @Override
            public LuaValue call() {
                if (interrupted) {
                    // Raised again at every hook until the cell ends, so a pcall in a loop cannot swallow it.
                    throw new LuaError(INTERRUPTED);
                }
                return NONE;
            }
        };
        globals.get("debug").get("sethook").invoke(LuaValue.varargsOf(hook, LuaValue.valueOf(""), LuaValue.valueOf(1000)));
    }

    /** The built-in kernelspec {@code carpo-lua}. */
    public static final class Spec extends dev.carpo.pool.kernel.BuiltinKernel {
        public Spec() {
            super("carpo-lua", "Lua (carpo, LuaJ)", "lua", LuaKernel.class);
        }
    }

    public static void main(String[] args) throws Exception {
        KernelServer.main(args, LuaKernel::new);
    }

    @Override
    public LanguageInfo languageInfo() {
        return new LanguageInfo("lua", "5.2", "text/x-lua", ".lua", "carpo-lua", KernelServer.version(),
                "carpo-lua: Lua 5.2 on LuaJ");
    }

    @Override
    public Outcome execute(String code, Output output) {
        out.target(output);
        err.target(output);
        try {
            LuaValue chunk = compile(code);
            Varargs results = globals.get("xpcall").invoke(LuaValue.varargsOf(chunk, traceback()));
            if (!results.arg1().toboolean()) {
                return failure(results.arg(2));
            }
            Varargs values = results.subargs(2);
            if (values.narg() == 0 || (values.narg() == 1 && values.arg1().isnil())) {
                return new Value(null);
            }
            List<String> shown = new ArrayList<>();
            for (int i = 1; i <= values.narg(); i++) {
                shown.add(globals.get("tostring").call(values.arg(i)).tojstring());
            }
            return new Value(String.join("\t", shown));
        } catch (LuaError e) {
            return failure(LuaValue.valueOf(String.valueOf(e.getMessage())));
        } finally {
            globals.STDOUT.flush();
            globals.STDERR.flush();
            out.target(null);
            err.target(null);
        }
    }

    /** A cell that is an expression is compiled as {@code return <cell>}, as the Lua REPL does. */
    private LuaValue compile(String code) {
        try {
            return globals.load("return " + code, "=cell");
        } catch (LuaError notAnExpression) {
            return globals.load(code, "=cell");
        }
    }

    /** The message handler: the error and the traceback of the frames that raised it. */
    private LuaValue traceback() {
        return globals.get("debug").get("traceback");
    }

    private static Failure failure(LuaValue error) {
        String text = error.isstring() ? error.tojstring() : String.valueOf(error);
        List<String> lines = List.of(text.split("\n"));
        String message = lines.get(0);
        String ename = message.endsWith(INTERRUPTED) ? "Interrupted" : "LuaError";
        return new Failure(ename, message, lines);
    }

    @Override
    public void interrupt() {
        interrupted = true;
    }

    @Override
    public void clearInterrupt() {
        interrupted = false;
    }

    @Override
    public Completion complete(String code, int cursorPos) {
        int start = cursorPos;
        while (start > 0 && (Character.isLetterOrDigit(code.charAt(start - 1)) || code.charAt(start - 1) == '_'
                || code.charAt(start - 1) == '.' || code.charAt(start - 1) == ':')) {
            start--;
        }
        String word = code.substring(start, cursorPos);
        int dot = Math.max(word.lastIndexOf('.'), word.lastIndexOf(':'));
        LuaValue scope = globals;
        String prefix = word;
        int replaceFrom = start;
        if (dot >= 0) {
            scope = globals;
            for (String part : word.substring(0, dot).split("[.:]")) {
                // rawget: completion must not run a table's __index (strict-mode globals raise there)
                scope = scope.istable() ? ((LuaTable) scope).rawget(part) : LuaValue.NIL;
            }
            prefix = word.substring(dot + 1);
            replaceFrom = start + dot + 1;
        }
        TreeSet<String> matches = new TreeSet<>();
        if (scope.istable()) {
            LuaTable t = (LuaTable) scope;
            LuaValue k = LuaValue.NIL;
            while (true) {
                Varargs next = t.next(k);
                k = next.arg1();
                if (k.isnil()) {
                    break;
                }
                if (k.isstring() && k.tojstring().startsWith(prefix)) {
                    matches.add(k.tojstring());
                }
            }
        }
        if (dot < 0) {
            for (String keyword : KEYWORDS) {
                if (keyword.startsWith(prefix)) {
                    matches.add(keyword);
                }
            }
        }
        return new Completion(new ArrayList<>(matches), replaceFrom, cursorPos);
    }

    private static final List<String> KEYWORDS = List.of("and", "break", "do", "else", "elseif", "end", "false", "for",
            "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while");

    /** Complete if it compiles; incomplete if the compiler ran out of input (an open block or string); else invalid. */
    @Override
    public Completeness isComplete(String code) {
        try {
            globals.load(code, "=cell");
            return new Completeness("complete", "");
        } catch (LuaError e) {
            if (ranOutOfInput(String.valueOf(e.getMessage()))) {
                return new Completeness("incomplete", "  ");
            }
            try {
                globals.load("return " + code, "=cell");
                return new Completeness("complete", "");
            } catch (LuaError notExpression) {
                return new Completeness("invalid", "");
            }
        }
    }

    /**
     * LuaJ says the input ended inside a construct as "'end' expected", "unfinished long string",
     * "'…' expected (to close …)" or an unexpected symbol 286, its end-of-stream token (Lua itself
     * says "near <eof>").
     */
    private static boolean ranOutOfInput(String message) {
        return message.contains("<eof>") || message.contains("'end' expected") || message.contains("'until' expected")
                || message.contains("unfinished long") || message.contains("expected (to close")
                || message.contains("unexpected symbol 286");
    }

    @Override
    public void close() {
        // Nothing outlives the JVM here.
    }
}

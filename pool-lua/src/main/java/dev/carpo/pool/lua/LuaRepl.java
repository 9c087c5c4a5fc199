package dev.carpo.pool.lua;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.jline.reader.EOFError;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.ParsedLine;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;

/**
 * {@code carpo repl}: Lua at a JLine prompt. A chunk that does not compile because it ended early
 * ({@code for i = 1, 3 do}) continues on the next line; an expression prints its value; Ctrl-C at
 * the prompt drops the line and during an evaluation cancels its jobs; Ctrl-D exits.
 */
final class LuaRepl {
    private static final String PROMPT = "carpo> ";
    /** What the standalone lua calls typed input in its messages: {@code stdin:1: ...}. */
    private static final String CHUNK = "stdin";

    int run() throws IOException {
        AtomicReference<LineReader> prompt = new AtomicReference<>();
        try (Terminal terminal = TerminalBuilder.builder().name("carpo").system(true).dumb(true).build();
             PrintStream out = new PrintStream(terminal.output(), true, terminal.encoding());
             LuaSession lua = LuaSession.builder().stdout(out).progressLines(line -> {
                 // Kernel events arrive at any time: above the prompt, never through the line being typed.
                 LineReader r = prompt.get();
                 if (r != null && r.isReading()) {
                     r.printAbove(line);
                 } else {
                     System.err.println(line);
                 }
             }).build()) {
            Globals globals = lua.globals();
            LineReader reader = LineReaderBuilder.builder()
                    .terminal(terminal)
                    .appName("carpo")
                    .parser(new ChunkParser(globals))
                    .variable(LineReader.HISTORY_FILE, Path.of(System.getProperty("user.home"), ".carpo_history"))
                    .variable(LineReader.SECONDARY_PROMPT_PATTERN, "   >> ")
                    .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)
                    .build();
            prompt.set(reader);
            // Ctrl-C while code runs: the terminal is not in raw mode then, so it arrives as SIGINT.
            terminal.handle(Terminal.Signal.INT, signal -> lua.cancelRunning());
            out.println("carpo " + Version.get() + " Lua REPL: carpo.create_pool(\"python\", \"python3\", {size = 2}), "
                    + "then carpo.execute_code(\"1 + 1\"); Ctrl-D exits");
            while (true) {
                String line;
                try {
                    line = reader.readLine(PROMPT);
                } catch (UserInterruptException ctrlC) {
                    continue;
                } catch (EndOfFileException ctrlD) {
                    return 0;
                }
                if (line.isBlank()) {
                    continue;
                }
                try {
                    Varargs values = lua.call(compile(globals, line));
                    for (int i = 1; i <= values.narg(); i++) {
                        out.println(LuaPrinter.format(globals, values.arg(i)));
                    }
                } catch (LuaError e) {
                    out.println(LuaErrors.message(e));
                } catch (StackOverflowError e) {
                    out.println("stack overflow (a function that calls itself without end?)");
                } catch (RuntimeException e) {
                    out.println("error: " + e);
                }
            }
        }
    }

    /**
     * An expression, so that its values print, else the chunk as statements. The values are packed
     * first rather than returned directly: a call in a tail position loses its line in LuaJ's errors.
     * The closing parenthesis goes on the expression's own last line, where LuaJ places the
     * expression's last instructions (on a line of its own, {@code nosuch.field} failed on
     * {@code stdin:2}); only after a trailing comment, which would swallow it, on the next.
     */
    static LuaValue compile(Globals globals, String line) {
        String code = line.startsWith("=") ? line.substring(1) : line;
        try {
            LuaChunks.load(globals, "return " + code, CHUNK);
        } catch (LuaError notAnExpression) {
            return LuaChunks.load(globals, code, CHUNK);
        }
        String unpack = " return table.unpack(values, 1, values.n)";
        try {
            return LuaChunks.load(globals, "local values = table.pack(" + code + ")" + unpack, CHUNK);
        } catch (LuaError endsInAComment) {
            return LuaChunks.load(globals, "local values = table.pack(" + code + "\n)" + unpack, CHUNK);
        }
    }

    /**
     * Whether the chunk failed to compile only because it ended too early. LuaJ's messages do not
     * say "near &lt;eof&gt;", so: a chunk is incomplete when a line of junk after it changes the
     * error, meaning the parser had read to the end and wanted more; a real syntax error earlier
     * stays the same error. Both readings are asked, since {@code 1 +} is an unfinished expression
     * but, as a statement, already wrong at its first token.
     */
    static boolean incomplete(Globals globals, String line) {
        if (compileError(globals, line) == null) {
            return false;
        }
        String code = line.startsWith("=") ? line.substring(1) : line;
        return endsEarly(globals, "return " + code) || endsEarly(globals, code);
    }

    private static boolean endsEarly(Globals globals, String code) {
        String error = loadError(globals, code);
        return error != null && !error.equals(loadError(globals, code + "\n\u0001"));
    }

    private static String compileError(Globals globals, String line) {
        try {
            compile(globals, line);
            return null;
        } catch (LuaError e) {
            return String.valueOf(e.getMessage());
        }
    }

    private static String loadError(Globals globals, String code) {
        try {
            LuaChunks.load(globals, code, CHUNK);
            return null;
        } catch (LuaError e) {
            return String.valueOf(e.getMessage());
        }
    }

    /** JLine's parser, asking for another line while the Lua chunk is incomplete. */
    private static final class ChunkParser extends DefaultParser {
        private final Globals globals;

        ChunkParser(Globals globals) {
            this.globals = globals;
        }

        @Override
        public ParsedLine parse(String line, int cursor, ParseContext context) {
            if (context == ParseContext.ACCEPT_LINE && incomplete(globals, line)) {
                throw new EOFError(-1, -1, "incomplete Lua chunk");
            }
            return super.parse(line, cursor, context);
        }
    }
}

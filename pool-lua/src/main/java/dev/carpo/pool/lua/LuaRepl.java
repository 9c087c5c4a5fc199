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
                    out.println(LuaSession.withoutTraceback(e.getMessage()));
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
     */
    static LuaValue compile(Globals globals, String line) {
        String code = line.startsWith("=") ? line.substring(1) : line;
        try {
            globals.load("return " + code, "=stdin");
        } catch (LuaError notAnExpression) {
            return globals.load(code, "=stdin");
        }
        return globals.load("local values = table.pack(" + code + "\n) return table.unpack(values, 1, values.n)", "=stdin");
    }

    /**
     * Whether the chunk failed to compile only because it ended too early. LuaJ's messages do not
     * say "near &lt;eof&gt;", so: a chunk is incomplete when a line of junk after it changes the
     * error, meaning the parser had read to the end and wanted more; a real syntax error earlier
     * stays the same error.
     */
    static boolean incomplete(Globals globals, String line) {
        String error = compileError(globals, line);
        return error != null && !error.equals(compileError(globals, line + "\n\u0001"));
    }

    private static String compileError(Globals globals, String code) {
        try {
            compile(globals, code);
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

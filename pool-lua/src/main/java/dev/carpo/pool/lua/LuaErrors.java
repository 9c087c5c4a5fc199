package dev.carpo.pool.lua;

import java.lang.reflect.Field;
import org.luaj.vm2.LuaError;

/**
 * A Lua error as the command and the REPL show it: {@code x.lua:3: message}, as the standalone
 * {@code lua} does, for run-time errors as for syntax errors.
 *
 * <p>LuaJ joins a run-time error's position and message with a space ({@code x.lua:3 message})
 * where its compiler, like PUC Lua, uses {@code ": "}. The position is the error's {@code fileline},
 * which LuaJ keeps in a protected field and puts verbatim before the message; read from there, it
 * is re-joined exactly, never guessed from the text (a message that merely looks like
 * {@code host:80 refused} is left alone). Messages Lua code sees through {@code pcall} are not
 * changed: scripts may already match on them.
 *
 * <p>Example: {@code LuaErrors.message(e)} is {@code "stdin:1: attempt to call nil"} for the
 * error LuaJ reports as {@code "stdin:1 attempt to call nil\nstack traceback: ..."}.
 */
final class LuaErrors {
    private static final Field FILELINE = filelineField();

    private LuaErrors() {
    }

    /** The message with its position, without the traceback. */
    static String message(LuaError e) {
        return LuaSession.withoutTraceback(withTraceback(e));
    }

    /** The message with its position, then LuaJ's traceback ({@code stack traceback: ...}) when it made one. */
    static String withTraceback(LuaError e) {
        String text = String.valueOf(e.getMessage());
        String position = position(e);
        if (position != null && text.startsWith(position + " ")) {
            return position + ": " + text.substring(position.length() + 1);
        }
        return text;
    }

    private static String position(LuaError e) {
        if (FILELINE == null) {
            return null;
        }
        try {
            return (String) FILELINE.get(e);
        } catch (IllegalAccessException e2) {
            return null;
        }
    }

    /** LuaJ's {@code LuaError.fileline}; null if a future LuaJ drops it (messages then print as LuaJ makes them). */
    private static Field filelineField() {
        try {
            Field f = LuaError.class.getDeclaredField("fileline");
            f.setAccessible(true);
            return f.getType() == String.class ? f : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}

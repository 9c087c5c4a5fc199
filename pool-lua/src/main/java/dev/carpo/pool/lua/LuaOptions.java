package dev.carpo.pool.lua;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;

/**
 * An options table passed to a carpo function, read with type checks. Every error names the
 * function, the option and what was given: {@code create_pool: option 'size' must be an integer,
 * got string "3"}. Unknown keys are errors too, so a typo never silently means "default".
 */
final class LuaOptions {
    private final String function;
    private final LuaTable table;
    /** For a nested table's options, its key and a dot: {@code sandbox.}. */
    private final String prefix;

    private LuaOptions(String function, LuaTable table) {
        this(function, table, "");
    }

    private LuaOptions(String function, LuaTable table, String prefix) {
        this.function = function;
        this.table = table;
        this.prefix = prefix;
    }

    /** Argument {@code index} of {@code args} as options allowing only {@code known} keys; nil is an empty table. */
    static LuaOptions of(String function, Varargs args, int index, List<String> known) {
        LuaValue v = args.arg(index);
        if (v.isnil()) {
            return new LuaOptions(function, new LuaTable());
        }
        if (!v.istable()) {
            throw error(function, "argument #" + index + " must be a table of options, got " + describe(v));
        }
        LuaTable t = (LuaTable) v;
        for (LuaValue key : t.keys()) {
            if (key.type() != LuaValue.TSTRING || !known.contains(key.tojstring())) {
                throw error(function, "unknown option " + (key.type() == LuaValue.TSTRING ? "'" + key.tojstring() + "'" : describe(key))
                        + "; options are: " + String.join(", ", known));
            }
        }
        return new LuaOptions(function, t);
    }

    boolean has(String key) {
        return !table.get(key).isnil();
    }

    Integer integer(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        return checkInteger(function, "option '" + prefix + key + "'", v);
    }

    /** A whole number of bytes, at least {@code min}. */
    Long bytes(String key, long min) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        double d = v.todouble();
        if (v.type() != LuaValue.TNUMBER || d != Math.rint(d) || d < min || d > (double) (1L << 53)) {
            throw error(function, "option '" + prefix + key + "' must be a whole number of bytes, at least " + min + ", got " + describe(v));
        }
        return (long) d;
    }

    /** Code given as an option (init): as {@link #utf8}, checked for UTF-8. */
    String code(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        if (v.type() != LuaValue.TSTRING) {
            throw error(function, "option '" + prefix + key + "' must be code (a string), got " + describe(v));
        }
        return utf8(function, "option '" + prefix + key + "'", v);
    }

    String string(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        if (v.type() != LuaValue.TSTRING) {
            throw error(function, "option '" + prefix + key + "' must be a string, got " + describe(v));
        }
        return v.tojstring();
    }

    /** A duration given in seconds (fractions allowed), which must be positive. */
    Duration seconds(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        return checkSeconds(function, "option '" + prefix + key + "'", v);
    }

    /** A table of string keys to string (or number) values. */
    Map<String, String> stringMap(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        if (!v.istable()) {
            throw error(function, "option '" + prefix + key + "' must be a table of names to strings, got " + describe(v));
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (LuaValue k : ((LuaTable) v).keys()) {
            LuaValue value = v.get(k);
            if (k.type() != LuaValue.TSTRING || !value.isstring()) {
                throw error(function, "option '" + prefix + key + "' must map names to strings; entry " + describe(k)
                        + " = " + describe(value) + " does not");
            }
            map.put(k.tojstring(), value.tojstring());
        }
        return map;
    }

    Boolean bool(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        if (v.type() != LuaValue.TBOOLEAN) {
            throw error(function, "option '" + prefix + key + "' must be true or false, got " + describe(v));
        }
        return v.toboolean();
    }

    /** A whole number, at least 0 (a count such as max_executions). */
    Long count(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        double d = v.todouble();
        if (v.type() != LuaValue.TNUMBER || d != Math.rint(d) || d < 0 || d > (double) (1L << 53)) {
            throw error(function, "option '" + prefix + key + "' must be a whole number, at least 0, got " + describe(v));
        }
        return (long) d;
    }

    /** A nested options table, allowing only {@code known} keys: {@code sandbox = {network = false}}. */
    LuaOptions table(String key, List<String> known) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        if (!v.istable()) {
            throw error(function, "option '" + prefix + key + "' must be a table, got " + describe(v));
        }
        for (LuaValue k : ((LuaTable) v).keys()) {
            if (k.type() != LuaValue.TSTRING || !known.contains(k.tojstring())) {
                throw error(function, "option '" + prefix + key + "' has unknown key " + (k.type() == LuaValue.TSTRING ? "'" + k.tojstring() + "'"
                        : describe(k)) + "; its keys are: " + String.join(", ", known));
            }
        }
        return new LuaOptions(function, (LuaTable) v, prefix + key + ".");
    }

    /** A list of strings: {@code {"/srv/a", "/srv/b"}}, or one string. */
    List<String> strings(String key) {
        LuaValue v = table.get(key);
        if (v.isnil()) {
            return null;
        }
        if (v.type() == LuaValue.TSTRING) {
            return List.of(utf8(function, "option '" + prefix + key + "'", v));
        }
        if (!v.istable()) {
            throw error(function, "option '" + prefix + key + "' must be a list of strings, got " + describe(v));
        }
        LuaTable t = (LuaTable) v;
        java.util.List<String> out = new java.util.ArrayList<>();
        for (LuaValue k : t.keys()) {
            if (!k.isinttype() || k.toint() < 1 || k.toint() > t.length()) {
                throw error(function, "option '" + prefix + key + "' must be a list of strings; it has key " + describe(k));
            }
        }
        for (int i = 1; i <= t.length(); i++) {
            LuaValue item = t.get(i);
            if (item.type() != LuaValue.TSTRING) {
                throw error(function, "option '" + prefix + key + "' must be a list of strings; item " + i + " is " + describe(item));
            }
            out.add(utf8(function, "option '" + prefix + key + "' item " + i, item));
        }
        return out;
    }

    static int checkInteger(String function, String what, LuaValue v) {
        double d = v.todouble();
        if (v.type() != LuaValue.TNUMBER || d != Math.rint(d) || d > Integer.MAX_VALUE || d < Integer.MIN_VALUE) {
            throw error(function, what + " must be an integer, got " + describe(v));
        }
        return v.toint();
    }

    /** The longest duration any option takes: about 11.6 days, far beyond a sensible wait and far from overflow. */
    static final double MAX_SECONDS = dev.carpo.pool.PoolOptions.MAX_DURATION.getSeconds();

    static Duration checkSeconds(String function, String what, LuaValue v) {
        if (v.type() != LuaValue.TNUMBER || !(v.todouble() > 0) || v.todouble() > MAX_SECONDS) {
            throw error(function, what + " must be a positive number of seconds (at most " + (long) MAX_SECONDS
                    + "), got " + describe(v));
        }
        return Duration.ofNanos(Math.max(1, Math.round(v.todouble() * 1e9)));
    }

    /**
     * A Lua string (or number) as Java text, decoded strictly as UTF-8. Lua strings are bytes and
     * LuaJ's own {@code tojstring} decodes leniently: invalid bytes become other characters, some of
     * them lone surrogates that a kernel crashes on, and valid 4-byte sequences (emoji) come out
     * mangled. Code is sent to kernels as UTF-8, so bytes that are not UTF-8 are an error here,
     * naming the first bad byte. A surrogate pair encoded as two 3-byte sequences (CESU-8) is taken
     * too: it is how LuaJ turns Java text with such characters (kernel output) into a Lua string,
     * so results sent back as code round-trip.
     */
    static String utf8(String function, String what, LuaValue v) {
        org.luaj.vm2.LuaString s = v.strvalue();
        byte[] b = s.m_bytes;
        int off = s.m_offset;
        int n = s.m_length;
        StringBuilder out = new StringBuilder(n);
        int i = 0;
        while (i < n) {
            int c = b[off + i] & 0xff;
            int len;
            int cp;
            if (c < 0x80) {
                out.append((char) c);
                i++;
                continue;
            } else if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
                cp = c & 0x1f;
            } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                cp = c & 0x0f;
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                cp = c & 0x07;
            } else {
                throw notUtf8(function, what, s, i);
            }
            if (i + len > n) {
                throw notUtf8(function, what, s, i);
            }
            for (int k = 1; k < len; k++) {
                int cont = b[off + i + k] & 0xff;
                if ((cont & 0xc0) != 0x80) {
                    throw notUtf8(function, what, s, i);
                }
                cp = cp << 6 | (cont & 0x3f);
            }
            boolean overlong = len == 3 && cp < 0x800 || len == 4 && cp < 0x10000;
            if (overlong || cp > 0x10FFFF || Character.isLowSurrogate((char) cp) && len == 3) {
                throw notUtf8(function, what, s, i);
            }
            if (len == 3 && Character.isHighSurrogate((char) cp)) {
                // Only as the first half of a CESU-8 pair.
                int low = i + 6 <= n ? cesuLow(b, off + i + 3) : -1;
                if (low < 0) {
                    throw notUtf8(function, what, s, i);
                }
                out.append((char) cp).append((char) low);
                i += 6;
                continue;
            }
            out.appendCodePoint(cp);
            i += len;
        }
        return out.toString();
    }

    /** The low surrogate encoded as 3 bytes at {@code at}, or -1. */
    private static int cesuLow(byte[] b, int at) {
        if ((b[at] & 0xff) != 0xED || (b[at + 1] & 0xf0) != 0xB0 || (b[at + 2] & 0xc0) != 0x80) {
            return -1;
        }
        return 0xD000 | (b[at + 1] & 0x3f) << 6 | (b[at + 2] & 0x3f);
    }

    private static LuaError notUtf8(String function, String what, org.luaj.vm2.LuaString s, int at) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < at; i++) {
            if (s.m_bytes[s.m_offset + i] == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return error(function, String.format("%s is not valid UTF-8: byte 0x%02X at offset %d (line %d, byte %d of the line);"
                + " code is sent to the kernel as UTF-8", what, s.m_bytes[s.m_offset + at] & 0xff, at, line, at - lineStart + 1));
    }

    /** A value as an error message shows it: its type, and the value itself when short. */
    static String describe(LuaValue v) {
        return switch (v.type()) {
            case LuaValue.TNIL -> "nil";
            case LuaValue.TBOOLEAN -> "boolean " + v.toboolean();
            case LuaValue.TNUMBER -> "number " + v.tojstring();
            case LuaValue.TSTRING -> "string \"" + abbreviate(v.tojstring()) + "\"";
            default -> v.typename();
        };
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }

    /** A misuse error from {@code function}; LuaJ prefixes the script's file and line. */
    static LuaError error(String function, String message) {
        return new LuaError(function + ": " + message);
    }
}

package dev.carpo.pool.lua;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Prototype;

/**
 * Compiles Lua so that its errors name the chunk as the user knows it, {@code x.lua:3}, whether
 * the error is in its syntax or at run time.
 *
 * <p>LuaJ 3.0.1 names a chunk two ways: the compiler's errors go through {@code Lua.chunkid}, which
 * shows a plain name as {@code [string "x.lua"]} and strips a leading {@code =} or {@code @};
 * run-time errors put the prototype's source before the line verbatim, so {@code =stdin} shows as
 * {@code =stdin:1}. No single name reads the same both ways, so the chunk is compiled as
 * {@code =name} and its prototypes then carry the plain name. (The traceback and
 * {@code debug.getinfo} strip either prefix, so they show the plain name as before.)
 *
 * <p>Example: {@code LuaChunks.load(globals, "x = nil + 1", "stdin").call()} raises
 * {@code stdin:1 attempt to perform arithmetic on nil}; {@code LuaChunks.load(globals, "for", "stdin")}
 * raises {@code stdin:1: <name> expected}.
 */
final class LuaChunks {
    private LuaChunks() {
    }

    /** A text chunk read from {@code in} (a precompiled one is refused, as {@code load(..., "t")} does). */
    static LuaValue load(Globals globals, InputStream in, String name) throws IOException {
        return named(globals, globals.loadPrototype(in, "=" + name, "t"), name);
    }

    static LuaValue load(Globals globals, String code, String name) {
        try {
            return named(globals, globals.compilePrototype(new StringReader(code), "=" + name), name);
        } catch (IOException cannotHappen) {
            throw new UncheckedIOException("reading Lua source from a string", cannotHappen);
        }
    }

    private static LuaValue named(Globals globals, Prototype main, String name) {
        rename(main, LuaString.valueOf(name));
        try {
            return globals.loader.load(main, name, globals);
        } catch (IOException e) {
            throw new LuaError("load " + name + ": " + e);
        }
    }

    private static void rename(Prototype p, LuaString source) {
        p.source = source;
        if (p.p != null) {
            for (Prototype nested : p.p) {
                rename(nested, source);
            }
        }
    }
}

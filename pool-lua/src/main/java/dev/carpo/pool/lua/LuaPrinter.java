package dev.carpo.pool.lua;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

/**
 * A value as the REPL shows it: strings quoted, tables expanded (list part first, then keys in
 * order), nested up to a few levels, cycles marked.
 */
final class LuaPrinter {
    private static final int MAX_DEPTH = 4;

    private LuaPrinter() {
    }

    static String format(Globals globals, LuaValue value) {
        StringBuilder sb = new StringBuilder();
        append(globals, sb, value, 0, new IdentityHashMap<>());
        return sb.toString();
    }

    private static void append(Globals globals, StringBuilder sb, LuaValue v, int depth, Map<LuaValue, Boolean> seen) {
        if (v.type() == LuaValue.TSTRING) {
            sb.append(quote(v.tojstring()));
        } else if (v.istable() && v.getmetatable() == null) {
            appendTable(globals, sb, (LuaTable) v, depth, seen);
        } else {
            sb.append(globals.get("tostring").call(v).tojstring());
        }
    }

    private static void appendTable(Globals globals, StringBuilder sb, LuaTable t, int depth, Map<LuaValue, Boolean> seen) {
        if (seen.containsKey(t)) {
            sb.append("<cycle>");
            return;
        }
        if (depth >= MAX_DEPTH) {
            sb.append("{...}");
            return;
        }
        seen.put(t, true);
        int n = t.length();
        List<LuaValue> keys = new ArrayList<>();
        for (LuaValue k : t.keys()) {
            if (!(k.isinttype() && k.toint() >= 1 && k.toint() <= n)) {
                keys.add(k);
            }
        }
        // Numbers first, in numeric order, then the rest by name.
        keys.sort((a, b) -> a.type() == LuaValue.TNUMBER && b.type() == LuaValue.TNUMBER ? Double.compare(a.todouble(), b.todouble())
                : a.type() == LuaValue.TNUMBER ? -1 : b.type() == LuaValue.TNUMBER ? 1 : a.tojstring().compareTo(b.tojstring()));
        if (n + keys.size() == 0) {
            sb.append("{}");
            seen.remove(t);
            return;
        }
        String indent = "  ".repeat(depth + 1);
        sb.append("{\n");
        for (int i = 1; i <= n; i++) {
            sb.append(indent);
            append(globals, sb, t.get(i), depth + 1, seen);
            sb.append(",\n");
        }
        for (LuaValue k : keys) {
            sb.append(indent);
            if (k.type() == LuaValue.TSTRING && k.tojstring().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                sb.append(k.tojstring());
            } else {
                sb.append('[');
                append(globals, sb, k, depth + 1, seen);
                sb.append(']');
            }
            sb.append(" = ");
            append(globals, sb, t.get(k), depth + 1, seen);
            sb.append(",\n");
        }
        sb.append("  ".repeat(depth)).append('}');
        seen.remove(t);
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> sb.append(c < 0x20 ? String.format("\\%03d", (int) c) : String.valueOf(c));
            }
        }
        return sb.append('"').toString();
    }
}

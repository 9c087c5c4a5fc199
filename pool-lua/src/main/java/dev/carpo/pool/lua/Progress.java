package dev.carpo.pool.lua;

import dev.carpo.pool.PoolEvent;
import dev.carpo.pool.PoolListener;
import java.util.function.Consumer;

/**
 * Kernel lifecycle as one stderr line each, instances numbered from 1 as Lua scripts number them:
 * {@code carpo: python[2] ready in 812 ms (pid 4242)},
 * {@code carpo: python[2] retired (lifetime 30m) (pid 4242)}. Busy and idle are too frequent to show.
 */
final class Progress implements PoolListener {
    private final Consumer<String> out;

    Progress(Consumer<String> out) {
        this.out = out;
    }

    @Override
    public void onEvent(PoolEvent e) {
        String what = switch (e.type()) {
            case READY -> "ready in " + e.elapsed().toMillis() + " ms";
            case RESTARTED -> "restarted in " + e.elapsed().toMillis() + " ms";
            case DEAD -> "died (" + label(e) + "): " + firstLine(e.detail());
            // Not each kernel of a pool being shut down: the script or the command asked for that.
            case RETIRED -> e.reason() == PoolEvent.Reason.CLOSED ? null : "retired (" + label(e) + (e.detail().isEmpty() ? "" : " " + e.detail()) + ")";
            default -> null;
        };
        if (what != null) {
            String instance = e.instance() >= 0 ? Integer.toString(e.instance() + 1) : "+";
            out.accept("carpo: " + e.language() + "[" + instance + "] " + what + (e.pid() > 0 ? " (pid " + e.pid() + ")" : ""));
        }
    }

    private static String label(PoolEvent e) {
        return e.reason() == null ? "unknown" : e.reason().label();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}

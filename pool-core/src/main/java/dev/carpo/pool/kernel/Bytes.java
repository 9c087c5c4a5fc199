package dev.carpo.pool.kernel;

import java.util.Locale;

/** Byte counts for people: {@code 1,048,576 bytes (1.0 MiB)}. */
public final class Bytes {
    private Bytes() {
    }

    public static String describe(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%,d bytes (%.1f %s)", bytes, v, units[u]);
    }
}

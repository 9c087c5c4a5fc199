package dev.carpo.pool.lua;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** carpo's version, from the build. */
final class Version {
    private Version() {
    }

    static String get() {
        try (InputStream in = Version.class.getResourceAsStream("/carpo-version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}

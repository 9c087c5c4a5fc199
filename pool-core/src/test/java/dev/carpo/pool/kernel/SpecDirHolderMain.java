package dev.carpo.pool.kernel;

import java.nio.file.Path;
import java.time.Instant;

/**
 * Another JVM for BuiltinSpecDirsTest: {@code hold DIR} holds a spec directory in use, says
 * {@code HOLDING}, and keeps it until its stdin closes; {@code sweep PARENT CURRENT} removes the
 * stale ones and prints each it removed.
 */
public final class SpecDirHolderMain {
    private SpecDirHolderMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("sweep")) {
            for (Path removed : BuiltinSpecDirs.removeStale(Path.of(args[1]), Path.of(args[2]), Instant.now())) {
                System.out.println("REMOVED " + removed);
            }
            System.out.println("SWEPT");
            return;
        }
        BuiltinSpecDirs.holdInUse(Path.of(args[1]));
        System.out.println("HOLDING");
        System.out.flush();
        while (System.in.read() >= 0) {
            // Until the test closes our stdin.
        }
    }
}

package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What of {@code /etc} a sandboxed kernel must not see: every file others may not read, and every
 * directory others may not enter (password hashes, ssh host keys, {@code /etc/ssl/private}, 0600
 * configuration with credentials). An unprivileged kernel could not read them anyway; one run by
 * root (its capabilities dropped, but still the owner) could. Listed once per JVM.
 */
final class EtcSecrets {
    /** The paths to hide, parents only (nothing under a hidden directory is listed). */
    static final List<Path> HIDDEN = scan(Path.of("/etc"));

    private EtcSecrets() {
    }

    static List<Path> scan(Path etc) {
        List<Path> hidden = new ArrayList<>();
        if (!Files.isDirectory(etc)) {
            return hidden;
        }
        try {
            Files.walkFileTree(etc, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (!dir.equals(etc) && !permissions(dir).containsAll(Set.of(PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE))) {
                        hidden.add(dir);
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    if (attrs.isRegularFile() && !permissions(file).contains(PosixFilePermission.OTHERS_READ)) {
                        hidden.add(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // unreadable to us: nothing a kernel of ours could read either
                }
            });
        } catch (IOException e) {
            // Best effort over what was walked; the rest of /etc stays as it is.
        }
        return List.copyOf(hidden);
    }

    private static Set<PosixFilePermission> permissions(Path p) throws IOException {
        return Files.readAttributes(p, PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS).permissions();
    }
}

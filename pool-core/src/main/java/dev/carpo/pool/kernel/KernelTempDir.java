package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One kernel's private directory (mode 0700) under the temp dir: a sandboxed kernel's connection
 * file, its scratch directory ({@code scratch/}) and its channels' Unix sockets ({@code k-1} …
 * {@code k-5}); removed with everything in it when the kernel goes. Short on
 * purpose: a Unix socket's path is limited to 108 bytes.
 */
final class KernelTempDir {
    private static final Logger LOG = LoggerFactory.getLogger(KernelTempDir.class);
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    /**
     * Where the directories go: {@code /tmp}, whatever {@code java.io.tmpdir} says. Socket paths must
     * be short: Linux allows 108 bytes, and xeus (2.4.1, in xeus-python 0.14.3) aborts with zmq's
     * EINVAL on an ipc endpoint longer than 31 characters (measured: {@code ipc://} plus a 23-character
     * prefix and {@code -5} works, one more fails; as if it read its endpoint back into 32 bytes).
     * {@code ipc:///tmp/carpo-xxxxxxxx/k-5} is 29.
     */
    private static final Path BASE = Path.of("/tmp");
    private static final int NAME_CHARS = 8;
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private final Path dir;
    private final Path scratch;

    private KernelTempDir(Path dir, Path scratch) {
        this.dir = dir;
        this.scratch = scratch;
    }

    /** The directory every kernel's private directory is made in ({@code carpo-xxxxxxxx}). */
    static Path base() {
        return Files.isDirectory(BASE) && Files.isWritable(BASE) ? BASE
                : Path.of(System.getProperty("java.io.tmpdir", "/tmp")).toAbsolutePath();
    }

    /** A new private directory, with an empty {@code scratch/} in it when {@code withScratch}. */
    static KernelTempDir create(boolean withScratch) {
        Path base = base();
        Path dir = null;
        IOException last = null;
        for (int attempt = 0; attempt < 10 && dir == null; attempt++) {
            try {
                dir = Files.createDirectory(base.resolve("carpo-" + randomName()), PRIVATE);
            } catch (java.nio.file.FileAlreadyExistsException taken) {
                last = taken;
            } catch (IOException | RuntimeException e) {
                throw new KernelStartException("cannot create a kernel's private directory in " + base + ": " + e.getMessage(), e);
            }
        }
        if (dir == null) {
            throw new KernelStartException("cannot create a kernel's private directory in " + base + ": " + last, last);
        }
        try {
            Path scratch = withScratch ? Files.createDirectory(dir.resolve("scratch"), PRIVATE) : null;
            return new KernelTempDir(dir, scratch);
        } catch (IOException | RuntimeException e) {
            new KernelTempDir(dir, null).delete();
            throw new KernelStartException("cannot create a kernel's scratch directory in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String randomName() {
        StringBuilder name = new StringBuilder(NAME_CHARS);
        for (int i = 0; i < NAME_CHARS; i++) {
            name.append(Character.forDigit(RANDOM.nextInt(36), 36));
        }
        return name.toString();
    }

    Path path() {
        return dir;
    }

    /** The scratch directory, or {@code null} when none was asked for. */
    Path scratch() {
        return scratch;
    }

    /** The {@code ip} of an ipc connection file: the kernel binds {@code <prefix>-<port>}, as jupyter_client names them. */
    Path ipcPrefix() {
        return dir.resolve("k");
    }

    /**
     * Removes the directory and all in it, never following a link the kernel made (a link to
     * {@code /etc} loses the link, not {@code /etc}), and restoring owner access to directories
     * the kernel may have made unreadable. Idempotent; failures are logged, never thrown.
     */
    void delete() {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    try {
                        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
                    } catch (IOException | RuntimeException ignored) {
                        // Not ours to change (a read-only bind): the delete below says so if it matters.
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    Files.deleteIfExists(file); // unreadable, or gone meanwhile: a link or file is deleted all the same
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException gone) {
            // Already removed.
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not remove kernel directory {}: {}", dir, e.toString());
        }
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}

package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code <runtime dir>/carpo-kernels/} down to the built-in spec directories in use. Each
 * java and classpath gets a directory of its own ({@link BuiltinKernelSpecs}), so every rebuilt
 * jar or test classpath used to leave one behind for good.
 *
 * <p>The rule: a JVM that lists built-in specs holds a shared {@link FileLock} on
 * {@code <dir>/.in-use} for as long as it runs (the OS drops it when the JVM dies, however it
 * dies). Another directory is removed only when its lock can be taken exclusively (no live JVM
 * holds it) and nothing in it, lock file included, changed for {@link #STALE_AFTER}: that covers a
 * JVM between creating a directory and locking it, and JVMs of carpo versions that took no lock.
 * The directory is first renamed aside while the exclusive lock is held, so a JVM arriving at that
 * moment finds its lock file gone, and starts again with a fresh directory instead of using one
 * being deleted. Only directories named like carpo's keys are touched, and symbolic links are
 * never followed: a link is deleted as a link, never what it points to.
 *
 * <p>Example: {@code BuiltinSpecDirs.holdInUse(dir); BuiltinSpecDirs.removeStale(dir.getParent(), dir, Instant.now());}
 */
final class BuiltinSpecDirs {
    static final String LOCK_FILE = ".in-use";
    static final Duration STALE_AFTER = Duration.ofMinutes(10);
    /** The names {@link BuiltinKernelSpecs} gives its directories (a hash in hex). */
    private static final Pattern KEY = Pattern.compile("[0-9a-f]{1,8}");
    private static final String ASIDE = ".removing-";
    private static final int LOCK_ATTEMPTS = 20;
    private static final Logger LOG = LoggerFactory.getLogger(BuiltinSpecDirs.class);

    /**
     * This JVM's locks, by lock file (absolute). Their channels stay open, and nothing here opens a
     * lock file this JVM holds, not even to look or to set its time: POSIX locks belong to the
     * process, and closing any descriptor of the file would drop them.
     */
    private static final Map<Path, Claim> HELD = new ConcurrentHashMap<>();
    /** The held lock files' identities, to recognise one reached by another path (a linked runtime dir). */
    private static final Set<Object> HELD_FILES = ConcurrentHashMap.newKeySet();
    private static final Set<Path> SWEPT = ConcurrentHashMap.newKeySet();

    private BuiltinSpecDirs() {
    }

    /**
     * Marks {@code dir} (created if missing) as used by this JVM until it exits. Idempotent. When
     * the lock cannot be had (a file system without locks), the directory is still protected by
     * {@link #STALE_AFTER}, as before there were locks.
     */
    static void holdInUse(Path dir) throws IOException {
        Path lockFile = dir.resolve(LOCK_FILE).toAbsolutePath().normalize();
        if (HELD.containsKey(lockFile)) {
            return;
        }
        synchronized (HELD) { // one lock per file and JVM: a second tryLock on it here would throw
            if (HELD.containsKey(lockFile) || heldHere(lockFile)) {
                return;
            }
            releaseVanished();
            for (int attempt = 1; attempt <= LOCK_ATTEMPTS; attempt++) {
                Claim claim = tryShared(lockFile.getParent(), lockFile);
                if (claim != null) {
                    markUsed(claim.lock().channel());
                    HELD.put(lockFile, claim);
                    HELD_FILES.add(claim.file());
                    return;
                }
                // Another JVM holds it exclusively for the moment it takes to rename a stale directory aside;
                // file locks have no timed wait, hence a short, bounded backoff.
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5L * attempt));
            }
            LOG.debug("could not lock {}; it is kept only while it looks recently used", lockFile);
        }
    }

    private record Claim(FileLock lock, Object file) {
    }

    /**
     * A shared lock on {@code lockFile}, or null to try again: while another JVM holds it
     * exclusively, or when the file locked is no longer the one at that path (renamed aside by a
     * JVM removing the directory).
     */
    private static Claim tryShared(Path dir, Path lockFile) throws IOException {
        Object before;
        FileChannel channel;
        try {
            Files.createDirectories(dir);
            before = fileKey(lockFile, true);
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException renamedAside) {
            return null; // the directory went between two steps here: start over with a new one
        }
        try {
            FileLock lock = channel.tryLock(0, Long.MAX_VALUE, true);
            if (lock != null && before != null && before.equals(fileKey(lockFile, false))) {
                return new Claim(lock, before);
            }
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        channel.close();
        return null;
    }

    /** Sets the lock file's time to now, through the locked channel (see {@link #HELD}): the directory's last use. */
    private static void markUsed(FileChannel channel) throws IOException {
        byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        channel.write(java.nio.ByteBuffer.wrap(pid), 0);
    }

    /** Whether this JVM holds {@code lockFile}'s lock, under whatever path. */
    private static boolean heldHere(Path lockFile) throws IOException {
        if (HELD.containsKey(lockFile.toAbsolutePath().normalize())) {
            return true;
        }
        Object file = fileKey(lockFile, false);
        return file != null && HELD_FILES.contains(file);
    }

    /** The file's identity (device and inode), created empty first if {@code create}; null when it is not there. */
    private static Object fileKey(Path file, boolean create) throws IOException {
        if (create) {
            try {
                Files.createFile(file);
            } catch (java.nio.file.FileAlreadyExistsException exists) {
                // The usual case: another JVM, or an earlier run, made it.
            }
        }
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return a.isRegularFile() ? Objects.requireNonNullElse(a.fileKey(), file) : null;
        } catch (NoSuchFileException gone) {
            return null;
        }
    }

    /** Lets go of locks on directories deleted since (a test's temporary runtime dir): no channel left open for nothing. */
    private static void releaseVanished() {
        HELD.entrySet().removeIf(e -> {
            if (Files.exists(e.getKey(), LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            HELD_FILES.remove(e.getValue().file());
            try {
                e.getValue().lock().channel().close();
            } catch (IOException ignored) {
                // The file is gone anyway.
            }
            return true;
        });
    }

    /** {@link #removeStale} the first time this JVM sees {@code parent}; after that, nothing. */
    static void removeStaleOnce(Path parent, Path current) {
        if (SWEPT.add(parent.toAbsolutePath().normalize())) {
            removeStale(parent, current, Instant.now());
        }
    }

    /**
     * Removes the spec directories under {@code parent}, other than {@code current}, that no live
     * JVM holds and that have not changed since {@code now} minus {@link #STALE_AFTER}; and any
     * left renamed aside by a removal that did not finish.
     *
     * @return the directories removed
     */
    static List<Path> removeStale(Path parent, Path current, Instant now) {
        List<Path> removed = new ArrayList<>();
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(parent)) {
            stream.forEach(entries::add);
        } catch (IOException e) {
            return removed; // nothing there yet, or not readable: nothing to tidy
        }
        Path currentName = current.getFileName();
        for (Path entry : entries) {
            String name = entry.getFileName().toString();
            try {
                if (name.startsWith(ASIDE)) {
                    deleteTree(entry);
                } else if (KEY.matcher(name).matches() && !entry.getFileName().equals(currentName)
                        && Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) && removeIfStale(entry, now)) {
                    removed.add(entry);
                }
            } catch (IOException | RuntimeException e) {
                LOG.debug("left {} in place: {}", entry, e.toString());
            }
        }
        return removed;
    }

    private static boolean removeIfStale(Path dir, Instant now) throws IOException {
        Path lockFile = dir.resolve(LOCK_FILE);
        if (heldHere(lockFile)) {
            return false; // this JVM's own: opening it to try would drop the lock
        }
        Instant threshold = now.minus(STALE_AFTER);
        // Read before this JVM opens (and perhaps creates) the lock file, which would make the directory look fresh.
        boolean hadLockFile = Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS);
        if (lastChange(dir).isAfter(threshold)) {
            return false;
        }
        Path aside = dir.resolveSibling(ASIDE + dir.getFileName() + "-" + UUID.randomUUID());
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
             FileLock lock = channel.tryLock()) {
            if (lock == null) {
                return false; // a live JVM uses it
            }
            // A JVM that locked it after the look above touched the lock file: used since, so not stale.
            if (hadLockFile && modified(lockFile).isAfter(threshold)) {
                return false;
            }
            Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (OverlappingFileLockException heldHere) {
            return false;
        }
        deleteTree(aside);
        return true;
    }

    /** The latest modification of the directory and what is in it, two levels down (its specs), not following links. */
    private static Instant lastChange(Path dir) throws IOException {
        Instant latest = modified(dir);
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path entry : stream) {
                latest = max(latest, modified(entry));
                if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    try (DirectoryStream<Path> inner = Files.newDirectoryStream(entry)) {
                        for (Path file : inner) {
                            latest = max(latest, modified(file));
                        }
                    }
                }
            }
        }
        return latest;
    }

    private static Instant modified(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).lastModifiedTime().toInstant();
    }

    private static Instant max(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    /** Deletes a tree without following links (walkFileTree's default): a link goes, its target stays. */
    private static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // another JVM removing the same leftovers
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}

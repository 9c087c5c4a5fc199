package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Built-in spec directories of old classpaths go; the current one, those a live JVM holds, and
 * those changed in the last minutes stay; nothing outside is ever touched through a link.
 */
class BuiltinSpecDirsTest {
    private static final Instant AN_HOUR_AGO = Instant.now().minus(Duration.ofHours(1));

    @TempDir
    Path tmp;
    private Process holder;

    @AfterEach
    void stopHolder() {
        if (holder != null) {
            holder.destroyForcibly();
        }
    }

    /** A spec directory as BuiltinKernelSpecs writes one, everything in it last changed at {@code when}. */
    private static Path specDir(Path parent, String key, Instant when) throws Exception {
        Path dir = parent.resolve(key);
        Path spec = Files.createDirectories(dir.resolve("carpo-lua"));
        Files.writeString(spec.resolve("kernel.json"), "{\"argv\": [\"java\"], \"display_name\": \"Lua\", \"language\": \"lua\"}\n");
        age(dir, when);
        return dir;
    }

    /**
     * Sets the times of everything in {@code dir}, links as links, with touch(1): in another process,
     * since this JVM opening a lock file it holds (as Java's setTimes does) would drop its lock.
     */
    private static void age(Path dir, Instant when) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("touch", "-h", "-d", "@" + when.getEpochSecond()));
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.forEach(p -> command.add(p.toString()));
        }
        Process touch = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertThat(touch.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(touch.exitValue()).as(new String(touch.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
    }

    /** Another JVM running {@link SpecDirHolderMain} with {@code args}; returns it once it printed {@code until}. */
    private Process otherJvm(String until, String... args) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new java.util.ArrayList<>(List.of(java.toString(), "-cp", classpath, SpecDirHolderMain.class.getName()));
        command.addAll(List.of(args));
        holder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder said = new StringBuilder();
        CompletableFuture.runAsync(() -> {
            try {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    said.append(line).append('\n');
                    if (line.equals(until)) {
                        return;
                    }
                }
            } catch (IOException e) {
                said.append(e);
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(said.toString()).endsWith(until + "\n");
        lastSaid = said.toString();
        return holder;
    }

    private String lastSaid;

    @Test
    void onlyOldDirectoriesNoLiveJvmHoldsAreRemoved() throws Exception {
        Path parent = tmp.resolve("carpo-kernels");
        Path current = specDir(parent, "1a2b3c4d", AN_HOUR_AGO);
        Path stale = specDir(parent, "deadbeef", AN_HOUR_AGO);
        Path held = specDir(parent, "0badf00d", AN_HOUR_AGO);
        Path fresh = specDir(parent, "c0ffee", Instant.now());
        Path notOurs = specDir(parent, "notes", AN_HOUR_AGO);
        Process other = otherJvm("HOLDING", "hold", held.toString());
        age(held, AN_HOUR_AGO); // held, but looking as old as the stale one: only the lock keeps it

        List<Path> removed = BuiltinSpecDirs.removeStale(parent, current, Instant.now());

        assertThat(removed).containsExactly(stale);
        assertThat(stale).doesNotExist();
        assertThat(current.resolve("carpo-lua/kernel.json")).exists();
        assertThat(held.resolve("carpo-lua/kernel.json")).exists();
        assertThat(fresh.resolve("carpo-lua/kernel.json")).exists();
        assertThat(notOurs.resolve("carpo-lua/kernel.json")).exists();
        try (Stream<Path> left = Files.list(parent)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".removing-"));
        }

        // Once the JVM using it is gone, its lock goes with it, and so does the directory.
        other.getOutputStream().close();
        assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
        age(held, AN_HOUR_AGO);
        assertThat(BuiltinSpecDirs.removeStale(parent, current, Instant.now())).containsExactly(held);
        assertThat(held).doesNotExist();
    }

    @Test
    void linksAreRemovedAsLinksNeverFollowed() throws Exception {
        Path parent = tmp.resolve("carpo-kernels");
        Path outside = specDir(tmp, "outside", AN_HOUR_AGO);
        Path stale = specDir(parent, "deadbeef", AN_HOUR_AGO);
        Files.createSymbolicLink(stale.resolve("carpo-lua/link"), outside);
        Files.createSymbolicLink(parent.resolve("abcdef12"), outside);
        age(stale, AN_HOUR_AGO);
        Files.createDirectories(parent.resolve(".removing-feed-1234/carpo-lua")); // a removal a crash cut short

        List<Path> removed = BuiltinSpecDirs.removeStale(parent, parent.resolve("1a2b3c4d"), Instant.now());

        assertThat(removed).containsExactly(stale);
        assertThat(outside.resolve("carpo-lua/kernel.json")).exists();
        assertThat(parent.resolve("abcdef12")).matches(p -> Files.isSymbolicLink(p), "left alone: a link, not a directory of ours");
        assertThat(parent.resolve(".removing-feed-1234")).doesNotExist();
    }

    @Test
    void listingTheBuiltinSpecsHoldsTheirDirectoryAndTidiesTheOthers() throws Exception {
        Path runtime = tmp.resolve("runtime");
        Path stale = specDir(runtime.resolve("carpo-kernels"), "deadbeef", AN_HOUR_AGO);

        assertThat(BuiltinKernelSpecs.list(runtime)).containsKey("carpo-java");

        Path mine = BuiltinKernelSpecs.specsDir(runtime);
        assertThat(stale).doesNotExist();
        assertThat(mine.resolve("carpo-java/kernel.json")).exists();
        assertThat(mine.resolve(BuiltinSpecDirs.LOCK_FILE)).exists();
        // Held by this JVM: another JVM's sweep, even long after, leaves it.
        age(mine, AN_HOUR_AGO);
        Process sweep = otherJvm("SWEPT", "sweep", mine.getParent().toString(), mine.resolveSibling("00000000").toString());
        assertThat(sweep.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(lastSaid).isEqualTo("SWEPT\n");
        assertThat(mine.resolve("carpo-java/kernel.json")).exists();
    }
}

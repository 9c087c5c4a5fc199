package dev.carpo.pool.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Resident memory and CPU time of a local process, read from {@code /proc} (Linux).
 *
 * <p>Example: {@code ProcessUsage u = ProcessUsage.read(pid); u.residentBytes(); u.cpuSeconds();}
 *
 * @param residentBytes resident set size, or -1 when unknown
 * @param cpuSeconds user plus system CPU time, or -1 when unknown
 */
public record ProcessUsage(long residentBytes, double cpuSeconds) {
    /** Unknown: the process is gone, or this is not Linux. */
    public static final ProcessUsage UNKNOWN = new ProcessUsage(-1, -1);

    private static final long CLOCK_TICKS = clockTicks();

    /** Reads the usage of {@code pid} now. */
    public static ProcessUsage read(long pid) {
        if (pid <= 0) {
            return UNKNOWN;
        }
        try {
            Path proc = Path.of("/proc", Long.toString(pid));
            return new ProcessUsage(residentBytes(Files.readString(proc.resolve("status"), StandardCharsets.UTF_8)),
                    cpuSeconds(Files.readString(proc.resolve("stat"), StandardCharsets.UTF_8), CLOCK_TICKS));
        } catch (IOException | RuntimeException e) {
            return UNKNOWN;
        }
    }

    /** The VmRSS line of {@code /proc/<pid>/status}, in bytes. */
    static long residentBytes(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String[] parts = line.substring(6).trim().split("\\s+");
                return Long.parseLong(parts[0]) * 1024;
            }
        }
        return -1;
    }

    /** utime + stime (fields 14 and 15 of {@code /proc/<pid>/stat}), in seconds. */
    static double cpuSeconds(String stat, long ticksPerSecond) {
        // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        return (double) ticks / ticksPerSecond;
    }

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return Long.parseLong(out);
            }
        } catch (IOException | RuntimeException e) {
            // fall through to Linux's usual value
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }
}

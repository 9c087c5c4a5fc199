package dev.carpo.pool.lua;

import dev.carpo.pool.PoolCancelledException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.luaj.vm2.LuaError;

/**
 * The script's waits on jobs: always bounded, and cut short by {@link #cancelAll()} (Ctrl-C),
 * which cancels every job the script has in flight and wakes the wait in progress. The futures
 * complete on carpo's threads; only this class's Java sets see those threads, never Lua state.
 */
final class JobWaits {
    /** How long past a job's own timeout a wait may last: the pool fails a job at its timeout, so this is slack. */
    static final Duration GRACE = Duration.ofSeconds(30);

    private final Map<CompletableFuture<?>, Work> inFlight = new ConcurrentHashMap<>();
    /** Completed at Ctrl-C with what it stopped: the message every interrupted wait raises. */
    private volatile CompletableFuture<String> interrupt = new CompletableFuture<>();

    /** What a tracked future is, for the message after Ctrl-C: "cancelled 2 jobs and 1 pool start". */
    enum Work {
        JOB("job", "jobs"),
        POOL_START("pool start", "pool starts"),
        SCALING("scale_pool call", "scale_pool calls"),
        BROADCAST("broadcast", "broadcasts"),
        LEASE("lease request", "lease requests");

        private final String one;
        private final String many;

        Work(String one, String many) {
            this.one = one;
            this.many = many;
        }

        String count(long n) {
            return n + " " + (n == 1 ? one : many);
        }
    }

    /** Remembers the job {@code f} until it completes, so that {@link #cancelAll()} can reach it; cancelled at once after a Ctrl-C. */
    <T, F extends CompletableFuture<T>> F track(F f) {
        return track(f, Work.JOB);
    }

    /** As {@link #track(CompletableFuture)}, for work other than a job. */
    <T, F extends CompletableFuture<T>> F track(F f, Work kind) {
        inFlight.put(f, kind);
        f.whenComplete((r, e) -> inFlight.remove(f));
        if (interrupt.isDone()) {
            f.cancel(true); // submitted after the Ctrl-C, by code that had not yet noticed it
        }
        return f;
    }

    /**
     * Cancels every tracked job (interrupting running kernels); the current wait and later ones
     * raise until {@link #clearInterrupt()}, saying what was cancelled.
     *
     * @return that message: {@code interrupted (Ctrl-C)}, then {@code ; cancelled 1 job} when there was one
     */
    String cancelAll() {
        // Counted before the wait wakes: it must raise the message that says what its Ctrl-C stopped.
        Map<CompletableFuture<?>, Work> unfinished = unfinished();
        String message = "interrupted (Ctrl-C)" + (unfinished.isEmpty() ? "" : "; cancelled " + summary(unfinished.values()));
        interrupt.complete(message);
        for (CompletableFuture<?> f : unfinished.keySet()) {
            f.cancel(true);
        }
        for (CompletableFuture<?> f : inFlight.keySet()) {
            f.cancel(true); // tracked meanwhile
        }
        return interrupt.join();
    }

    /** What is in flight, as {@code 2 jobs and 1 pool start}; {@code null} when nothing is. Safe from any thread. */
    String describeUnfinished() {
        Map<CompletableFuture<?>, Work> unfinished = unfinished();
        return unfinished.isEmpty() ? null : summary(unfinished.values());
    }

    private Map<CompletableFuture<?>, Work> unfinished() {
        Map<CompletableFuture<?>, Work> unfinished = new java.util.LinkedHashMap<>();
        inFlight.forEach((f, kind) -> {
            if (!f.isDone()) {
                unfinished.put(f, kind);
            }
        });
        return unfinished;
    }

    private static String summary(java.util.Collection<Work> kinds) {
        Map<Work, Long> counts = new EnumMap<>(Work.class);
        kinds.forEach(k -> counts.merge(k, 1L, Long::sum));
        List<String> parts = new ArrayList<>();
        counts.forEach((kind, n) -> parts.add(kind.count(n)));
        return parts.size() == 1 ? parts.get(0)
                : String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
    }

    void clearInterrupt() {
        if (interrupt.isDone()) {
            interrupt = new CompletableFuture<>();
        }
    }

    /**
     * Raises when the user has pressed Ctrl-C since the evaluation began: {@code function: interrupted
     * (Ctrl-C); ...}, or without the function's name when {@code function} is null (pure Lua code).
     */
    void checkInterrupt(String function) {
        CompletableFuture<String> i = interrupt;
        if (i.isDone()) {
            throw function == null ? new LuaError(i.join()) : LuaOptions.error(function, i.join());
        }
    }

    /**
     * Blocks until {@code f} is done, up to {@code max}.
     *
     * @return false when {@code max} passed first (the caller says what that means for its call)
     * @throws LuaError naming {@code function} when the user interrupted the wait
     */
    boolean awaitDone(CompletableFuture<?> f, Duration max, String function) {
        checkInterrupt(function);
        try {
            CompletableFuture.anyOf(f, interrupt).get(saturatedNanos(max), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | CancellationException done) {
            // Done, with a failure the caller reads from the future.
        } catch (TimeoutException e) {
            checkInterrupt(function);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw LuaOptions.error(function, "interrupted");
        }
        checkInterrupt(function);
        return true;
    }

    /** The failure of a done future, unwrapped, or {@code null} when it succeeded. A cancelled job is a {@link PoolCancelledException}. */
    static Throwable failure(CompletableFuture<?> f, String pool) {
        if (f.isCancelled()) {
            return new PoolCancelledException(pool, -1, "the job was cancelled", null);
        }
        try {
            f.join();
            return null;
        } catch (CompletionException | CancellationException e) {
            Throwable cause = e;
            while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            return cause;
        }
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }
}

package dev.carpo.pool.lua;

import dev.carpo.pool.PoolCancelledException;
import java.time.Duration;
import java.util.Set;
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

    private final Set<CompletableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();
    private volatile CompletableFuture<Void> interrupt = new CompletableFuture<>();

    /** Remembers {@code f} until it completes, so that {@link #cancelAll()} can reach it; cancelled at once after a Ctrl-C. */
    <T, F extends CompletableFuture<T>> F track(F f) {
        inFlight.add(f);
        f.whenComplete((r, e) -> inFlight.remove(f));
        if (interrupt.isDone()) {
            f.cancel(true); // submitted after the Ctrl-C, by code that had not yet noticed it
        }
        return f;
    }

    /** Cancels every tracked job (interrupting running kernels); the current wait and later ones raise until {@link #clearInterrupt()}. */
    void cancelAll() {
        interrupt.complete(null);
        for (CompletableFuture<?> f : inFlight) {
            f.cancel(true);
        }
    }

    void clearInterrupt() {
        if (interrupt.isDone()) {
            interrupt = new CompletableFuture<>();
        }
    }

    /** Raises when the user has pressed Ctrl-C since the evaluation began. */
    void checkInterrupt(String function) {
        if (interrupt.isDone()) {
            throw LuaOptions.error(function, "interrupted (Ctrl-C); running jobs were cancelled");
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

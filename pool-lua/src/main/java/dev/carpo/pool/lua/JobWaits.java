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
 * The script's waits on jobs: always bounded, and interruptible by {@link #cancelAll()} (Ctrl-C),
 * which cancels every job the script has in flight. The futures complete on carpo's threads; only
 * this class's Java sets see those threads, never Lua state.
 */
final class JobWaits {
    /** How long past a job's own timeout a wait may last: the pool fails a job at its timeout, so this is slack. */
    static final Duration GRACE = Duration.ofSeconds(30);

    private final Set<CompletableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();
    private volatile boolean interrupted;

    /** Remembers {@code f} until it completes, so that {@link #cancelAll()} can reach it. */
    <T, F extends CompletableFuture<T>> F track(F f) {
        inFlight.add(f);
        f.whenComplete((r, e) -> inFlight.remove(f));
        return f;
    }

    /** Cancels every tracked job (interrupting running kernels) and makes current and later waits raise until {@link #clearInterrupt()}. */
    void cancelAll() {
        interrupted = true;
        for (CompletableFuture<?> f : inFlight) {
            f.cancel(true);
        }
    }

    void clearInterrupt() {
        interrupted = false;
    }

    boolean interrupted() {
        return interrupted;
    }

    /**
     * Blocks until {@code f} is done, up to {@code max}.
     *
     * @throws LuaError naming {@code function} when the wait times out or the user interrupted it
     */
    void awaitDone(CompletableFuture<?> f, Duration max, String function) {
        try {
            f.get(max.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | CancellationException done) {
            // Done, with a failure the caller reads from the future.
        } catch (TimeoutException e) {
            throw LuaOptions.error(function, "no result within " + seconds(max)
                    + "; the job is still running (cancel it with :cancel())");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw LuaOptions.error(function, "interrupted");
        }
        checkInterrupt(function);
    }

    void checkInterrupt(String function) {
        if (interrupted) {
            throw LuaOptions.error(function, "interrupted (Ctrl-C); running jobs were cancelled");
        }
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

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }
}

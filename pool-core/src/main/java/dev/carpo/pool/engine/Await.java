package dev.carpo.pool.engine;

import dev.carpo.pool.PoolCancelledException;
import dev.carpo.pool.PoolFailedException;
import dev.carpo.pool.PoolTimeoutException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Blocking waits of the public API: always bounded, failures surfaced as {@link dev.carpo.pool.PoolException}. */
public final class Await {
    private Await() {
    }

    /** Waits for {@code future} up to {@code timeout}; {@code pool} and {@code what} name it in the failure. */
    public static <T> T result(CompletableFuture<T> future, Duration timeout, String pool, String what) {
        try {
            return future.get(dev.carpo.pool.kernel.InputChecks.saturatedMillis(timeout), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = PoolEngine.unwrap(e);
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new PoolFailedException(pool, -1, what + " failed: " + cause, cause);
        } catch (CancellationException e) {
            throw new PoolCancelledException(pool, -1, what + " was cancelled", e);
        } catch (TimeoutException e) {
            throw new PoolTimeoutException(pool, -1, what + " did not finish within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PoolCancelledException(pool, -1, "interrupted while waiting for " + what, e);
        }
    }
}

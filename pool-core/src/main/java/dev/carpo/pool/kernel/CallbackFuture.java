package dev.carpo.pool.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.LoggerFactory;

/**
 * A future that may be completed on the I/O loop thread (or under a pool's bookkeeping) without
 * the caller's code ever running there. A stage added before completion through this future's
 * methods runs on {@code stages}, as if added with its {@code *Async(…, stages)} twin; one added
 * after runs at once on the caller's thread, as with any {@link CompletableFuture}. A thread
 * blocked in {@code get()} or {@code join()} waits on a private signal, which the completing
 * thread sets directly: the result reaches a waiting caller with one thread hand-off instead of
 * a hop through an executor, which is the point.
 *
 * <p>Dependents the JDK attaches itself ({@code allOf}, {@code anyOf}, {@code copy()},
 * {@code other.thenCombine(this, …)} and the like) cannot be rerouted: when any is attached at
 * completion, the future's own completion, and with it those dependents, runs on {@code stages}
 * (its waiters have been woken already). With none, it completes on the completing thread, which
 * then runs nothing but the library's own {@link #whenCompleteInline} hooks.
 *
 * <p>Example: {@code kernel.execute(request).thenAccept(r -> log(r))} runs {@code log} on a callback
 * thread, never on the thread that read the reply.
 *
 * @param <T> the result type
 */
public class CallbackFuture<T> extends CompletableFuture<T> {
    private final Executor stages;
    /** Set first by every completion: what blocked callers wait on, and the one winner among racing completions. */
    private final CompletableFuture<T> signal = new CompletableFuture<>();
    /** Hooks of {@link #whenCompleteInline} not yet run; null once they have. Guarded by {@code this}. */
    private List<BiConsumer<? super T, ? super Throwable>> hooks = new ArrayList<>(2);

    /** A future whose stages added before completion run on {@code stages}. */
    public CallbackFuture(Executor stages) {
        this.stages = Objects.requireNonNull(stages, "stages");
    }

    /**
     * Runs {@code action} on whichever thread completes this future (at once if it is complete): for
     * the library's own short, non-blocking bookkeeping only (counting, a flag, queuing a task), never
     * user code. It is no dependent of the future, so it never delays the future's completion.
     */
    public final void whenCompleteInline(BiConsumer<? super T, ? super Throwable> action) {
        synchronized (this) {
            if (hooks != null) {
                hooks.add(action);
                return;
            }
        }
        signal.whenComplete(action); // complete already: runs here, now
    }

    @Override
    public boolean complete(T value) {
        if (!signal.complete(value)) {
            return false;
        }
        finish(value, null);
        return true;
    }

    @Override
    public boolean completeExceptionally(Throwable error) {
        if (!signal.completeExceptionally(error)) {
            return false;
        }
        finish(null, error);
        return true;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        if (!signal.cancel(mayInterruptIfRunning)) {
            return false;
        }
        CancellationException cancelled = new CancellationException();
        runHooks(null, cancelled);
        super.cancel(mayInterruptIfRunning); // on the caller's thread, as any cancel
        return true;
    }

    private void finish(T value, Throwable error) {
        runHooks(value, error);
        if (getNumberOfDependents() == 0) {
            settle(value, error);
        } else {
            try {
                stages.execute(() -> settle(value, error));
            } catch (RuntimeException shutDown) {
                settle(value, error);
            }
        }
    }

    private void settle(T value, Throwable error) {
        if (error == null) {
            super.complete(value);
        } else {
            super.completeExceptionally(error);
        }
    }

    private void runHooks(T value, Throwable error) {
        List<BiConsumer<? super T, ? super Throwable>> run;
        synchronized (this) {
            run = hooks;
            hooks = null;
        }
        for (BiConsumer<? super T, ? super Throwable> hook : run) {
            try {
                hook.accept(value, error);
            } catch (RuntimeException | Error e) {
                // The completion goes on: one hook's failure must not leave the caller's future, or the other hooks, undone.
                LoggerFactory.getLogger(CallbackFuture.class).error("a completion hook failed", e);
            }
        }
    }

    // The JDK's own completers below write the result field directly, past complete(): routed through it.

    @Override
    public CompletableFuture<T> completeAsync(java.util.function.Supplier<? extends T> supplier, Executor executor) {
        Objects.requireNonNull(supplier, "supplier");
        executor.execute(() -> {
            try {
                complete(supplier.get());
            } catch (Throwable e) {
                completeExceptionally(e);
            }
        });
        return this;
    }

    @Override
    public CompletableFuture<T> completeAsync(java.util.function.Supplier<? extends T> supplier) {
        return completeAsync(supplier, defaultExecutor());
    }

    @Override
    public void obtrudeValue(T value) {
        throw new UnsupportedOperationException("a CallbackFuture's outcome cannot be overwritten");
    }

    @Override
    public void obtrudeException(Throwable ex) {
        throw new UnsupportedOperationException("a CallbackFuture's outcome cannot be overwritten");
    }

    @Override
    public T get() throws InterruptedException, ExecutionException {
        return signal.get();
    }

    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        return signal.get(timeout, unit);
    }

    @Override
    public T join() {
        return signal.join();
    }

    @Override
    public T getNow(T valueIfAbsent) {
        return signal.getNow(valueIfAbsent);
    }

    @Override
    public boolean isDone() {
        return signal.isDone();
    }

    @Override
    public boolean isCompletedExceptionally() {
        return signal.isCompletedExceptionally();
    }

    @Override
    public boolean isCancelled() {
        return signal.isCancelled();
    }

    /**
     * {@code future} as a {@link CallbackFuture} for {@link #whenCompleteInline}: itself, or (any other
     * future, such as an already failed one) a copy completed from it.
     */
    public static <T> CallbackFuture<T> inline(CompletableFuture<T> future) {
        if (future instanceof CallbackFuture<T> c) {
            return c;
        }
        CallbackFuture<T> copy = new CallbackFuture<>(Runnable::run);
        future.whenComplete((r, e) -> {
            if (e != null) {
                copy.completeExceptionally(e);
            } else {
                copy.complete(r);
            }
        });
        return copy;
    }

    @Override
    public <U> CompletableFuture<U> thenApply(Function<? super T, ? extends U> fn) {
        return isDone() ? super.thenApply(fn) : thenApplyAsync(fn, stages);
    }

    @Override
    public CompletableFuture<Void> thenAccept(Consumer<? super T> action) {
        return isDone() ? super.thenAccept(action) : thenAcceptAsync(action, stages);
    }

    @Override
    public CompletableFuture<Void> thenRun(Runnable action) {
        return isDone() ? super.thenRun(action) : thenRunAsync(action, stages);
    }

    @Override
    public <U, V> CompletableFuture<V> thenCombine(CompletionStage<? extends U> other, BiFunction<? super T, ? super U, ? extends V> fn) {
        return thenCombineAsync(other, fn, stages);
    }

    @Override
    public <U> CompletableFuture<Void> thenAcceptBoth(CompletionStage<? extends U> other, BiConsumer<? super T, ? super U> action) {
        return thenAcceptBothAsync(other, action, stages);
    }

    @Override
    public CompletableFuture<Void> runAfterBoth(CompletionStage<?> other, Runnable action) {
        return runAfterBothAsync(other, action, stages);
    }

    @Override
    public <U> CompletableFuture<U> applyToEither(CompletionStage<? extends T> other, Function<? super T, U> fn) {
        return applyToEitherAsync(other, fn, stages);
    }

    @Override
    public CompletableFuture<Void> acceptEither(CompletionStage<? extends T> other, Consumer<? super T> action) {
        return acceptEitherAsync(other, action, stages);
    }

    @Override
    public CompletableFuture<Void> runAfterEither(CompletionStage<?> other, Runnable action) {
        return runAfterEitherAsync(other, action, stages);
    }

    @Override
    public <U> CompletableFuture<U> thenCompose(Function<? super T, ? extends CompletionStage<U>> fn) {
        return isDone() ? super.thenCompose(fn) : thenComposeAsync(fn, stages);
    }

    @Override
    public <U> CompletableFuture<U> handle(BiFunction<? super T, Throwable, ? extends U> fn) {
        return isDone() ? super.handle(fn) : handleAsync(fn, stages);
    }

    @Override
    public CompletableFuture<T> whenComplete(BiConsumer<? super T, ? super Throwable> action) {
        return isDone() ? super.whenComplete(action) : whenCompleteAsync(action, stages);
    }

    @Override
    public CompletableFuture<T> exceptionally(Function<Throwable, ? extends T> fn) {
        return isDone() ? super.exceptionally(fn) : exceptionallyAsync(fn, stages);
    }

    @Override
    public CompletableFuture<T> exceptionallyCompose(Function<Throwable, ? extends CompletionStage<T>> fn) {
        return isDone() ? super.exceptionallyCompose(fn) : exceptionallyComposeAsync(fn, stages);
    }
}

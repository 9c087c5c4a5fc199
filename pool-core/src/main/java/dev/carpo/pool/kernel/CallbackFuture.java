package dev.carpo.pool.kernel;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A future that may be completed on the I/O loop thread (or under a pool's bookkeeping) without
 * the caller's stages ever running there: a stage added before completion runs on {@code stages},
 * as if added with its {@code *Async(…, stages)} twin; one added after runs at once on the caller's
 * thread, as with any {@link CompletableFuture}. A thread blocked in {@code get()} or {@code join()}
 * is woken straight from the completing thread, which is the point: the result reaches a waiting
 * caller with one thread hand-off instead of a hop through an executor. The dependent futures it
 * returns are plain ones (their stages run on the {@code stages} thread that completed them).
 *
 * <p>Example: {@code kernel.execute(request).thenAccept(r -> log(r))} runs {@code log} on a callback
 * thread, never on the thread that read the reply.
 *
 * @param <T> the result type
 */
public class CallbackFuture<T> extends CompletableFuture<T> {
    private final Executor stages;

    /** A future whose stages added before completion run on {@code stages}. */
    public CallbackFuture(Executor stages) {
        this.stages = Objects.requireNonNull(stages, "stages");
    }

    /**
     * Adds {@code action} to run on whichever thread completes this future: for the library's own
     * short, non-blocking bookkeeping only (counting, a flag, queuing a task), never user code.
     */
    public final CompletableFuture<T> whenCompleteInline(BiConsumer<? super T, ? super Throwable> action) {
        return super.whenComplete(action);
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

package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class CallbackFutureTest {
    @Test
    void stagesAddedBeforeCompletionRunOnTheStagesExecutorNeverOnTheCompletingThread() throws Exception {
        ExecutorService stages = Executors.newSingleThreadExecutor(r -> new Thread(r, "stages"));
        try {
            CallbackFuture<String> f = new CallbackFuture<>(stages);
            AtomicReference<String> applied = new AtomicReference<>();
            AtomicReference<String> whenDone = new AtomicReference<>();
            AtomicReference<String> handled = new AtomicReference<>();
            AtomicReference<String> composed = new AtomicReference<>();
            AtomicReference<String> inline = new AtomicReference<>();
            CountDownLatch all = new CountDownLatch(4);
            f.thenApply(v -> applied.getAndSet(Thread.currentThread().getName())).thenRun(all::countDown);
            f.whenComplete((v, e) -> { whenDone.set(Thread.currentThread().getName()); all.countDown(); });
            f.handle((v, e) -> { handled.set(Thread.currentThread().getName()); all.countDown(); return v; });
            f.thenCompose(v -> { composed.set(Thread.currentThread().getName()); all.countDown(); return CompletableFuture.completedFuture(v); });
            f.whenCompleteInline((v, e) -> inline.set(Thread.currentThread().getName()));

            Thread loop = new Thread(() -> f.complete("reply"), "io-loop");
            loop.start();
            loop.join(10_000);
            assertThat(all.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(applied.get()).isEqualTo("stages");
            assertThat(whenDone.get()).isEqualTo("stages");
            assertThat(handled.get()).isEqualTo("stages");
            assertThat(composed.get()).isEqualTo("stages");
            assertThat(inline.get()).as("library bookkeeping runs where it completes").isEqualTo("io-loop");
        } finally {
            stages.shutdownNow();
        }
    }

    @Test
    void aStageAddedAfterCompletionRunsAtOnceOnTheCallersThreadAndAWaiterWakesFromTheCompletingThread() throws Exception {
        CallbackFuture<String> f = new CallbackFuture<>(task -> {
            throw new AssertionError("no stage should be handed off here");
        });
        CountDownLatch waiting = new CountDownLatch(1);
        AtomicReference<String> got = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            waiting.countDown();
            try {
                got.set(f.get(10, TimeUnit.SECONDS));
            } catch (Exception e) {
                got.set(e.toString());
            }
        });
        caller.start();
        assertThat(waiting.await(10, TimeUnit.SECONDS)).isTrue();
        f.complete("reply");
        caller.join(10_000);
        assertThat(got.get()).isEqualTo("reply");
        AtomicReference<String> ranOn = new AtomicReference<>();
        f.thenAccept(v -> ranOn.set(Thread.currentThread().getName()));
        assertThat(ranOn.get()).isEqualTo(Thread.currentThread().getName());
    }

    /**
     * Dependents the JDK attaches itself (allOf, anyOf, copy, minimalCompletionStage, another
     * future's thenCombine or applyToEither) cannot be rerouted stage by stage: with any attached,
     * the future settles on the stages executor, so none of them runs on the completing thread
     * (review of issue 15: a stage blocking on the pool there stalled every kernel).
     */
    @Test
    void dependentsTheJdkAttachesNeverRunOnTheCompletingThread() throws Exception {
        ExecutorService stages = Executors.newSingleThreadExecutor(r -> new Thread(r, "stages"));
        try {
            CallbackFuture<String> f = new CallbackFuture<>(stages);
            CompletableFuture<String> plain = new CompletableFuture<>();
            plain.complete("other");
            java.util.Map<String, String> ranOn = new java.util.concurrent.ConcurrentHashMap<>();
            CountDownLatch all = new CountDownLatch(6);
            java.util.function.BiConsumer<String, CompletableFuture<?>> record = (what, stage) ->
                    stage.whenComplete((v, e) -> { ranOn.put(what, Thread.currentThread().getName()); all.countDown(); });
            record.accept("allOf", CompletableFuture.allOf(f));
            record.accept("anyOf", CompletableFuture.anyOf(f, new CompletableFuture<>()));
            record.accept("copy", f.copy());
            record.accept("minimalCompletionStage", f.minimalCompletionStage().toCompletableFuture());
            record.accept("plain.thenCombine", plain.thenCombine(f, (a, b) -> a + b));
            record.accept("plain.applyToEither", new CompletableFuture<String>().applyToEither(f, v -> v));

            Thread loop = new Thread(() -> f.complete("reply"), "io-loop");
            loop.start();
            loop.join(10_000);
            assertThat(all.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(ranOn).hasSize(6).allSatisfy((what, thread) -> assertThat(thread).as(what).isNotEqualTo("io-loop"));
            assertThat(f.join()).isEqualTo("reply");
        } finally {
            stages.shutdownNow();
        }
    }

    @Test
    void aCancelWakesAWaiterAndTellsTheInlineHooks() throws Exception {
        CallbackFuture<String> f = new CallbackFuture<>(Runnable::run);
        AtomicReference<Throwable> hook = new AtomicReference<>();
        f.whenCompleteInline((v, e) -> hook.set(e));
        assertThat(f.cancel(false)).isTrue();
        assertThat(f.isCancelled()).isTrue();
        assertThat(f.complete("late")).as("the first outcome wins").isFalse();
        assertThat(hook.get()).isInstanceOf(java.util.concurrent.CancellationException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> f.get(1, TimeUnit.SECONDS))
                .isInstanceOf(java.util.concurrent.CancellationException.class);
    }

    @Test
    void inlineWrapsAPlainFutureWithItsOutcome() throws Exception {
        CompletableFuture<String> failed = CompletableFuture.failedFuture(new IllegalStateException("refused"));
        AtomicReference<Throwable> seen = new AtomicReference<>();
        CallbackFuture.inline(failed).whenCompleteInline((v, e) -> seen.set(e));
        assertThat(seen.get()).isInstanceOf(IllegalStateException.class).hasMessage("refused");
        CallbackFuture<String> own = new CallbackFuture<>(Runnable::run);
        assertThat(CallbackFuture.inline(own)).isSameAs(own);
    }
}

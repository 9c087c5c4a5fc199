package dev.carpo.pool.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;

class IoLoopTest {
    @Test
    void concurrentSubmissionsNeverLoseAWakeUp() throws Exception {
        // No timers and no sockets: a swallowed wake-up would leave a task waiting forever.
        try (IoLoop loop = new IoLoop("wake-test")) {
            int threads = 4;
            for (int round = 0; round < 3000; round++) {
                CountDownLatch ran = new CountDownLatch(threads);
                CyclicBarrier together = new CyclicBarrier(threads);
                for (int t = 0; t < threads; t++) {
                    new Thread(() -> {
                        try {
                            together.await(5, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            return;
                        }
                        loop.execute(ran::countDown);
                    }).start();
                }
                assertThat(ran.await(5, TimeUnit.SECONDS)).as("round %d: every task ran", round).isTrue();
            }
        }
    }

    @Test
    void timersRunInDeadlineOrderAndCanBeCancelled() throws Exception {
        try (IoLoop loop = new IoLoop("timer-test")) {
            List<String> order = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            loop.execute(() -> {
                loop.schedule(Duration.ofMillis(60), () -> order.add("late"));
                Runnable cancel = loop.schedule(Duration.ofMillis(30), () -> order.add("cancelled"));
                loop.schedule(Duration.ofMillis(10), () -> order.add("early"));
                loop.schedule(Duration.ofMillis(90), done::countDown);
                cancel.run();
            });
            assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(order).containsExactly("early", "late");
        }
    }

    @Test
    void socketsAreOnlyTouchedOnTheLoopThread() {
        try (IoLoop loop = new IoLoop("owner-test")) {
            assertThatThrownBy(() -> loop.open(SocketType.DEALER, "tcp://127.0.0.1:1", s -> { }, s -> { }))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("I/O loop thread");
            assertThatThrownBy(() -> loop.schedule(Duration.ofSeconds(1), () -> { }))
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void aStoppedLoopRejectsWorkAndRunsItsStopHooksOnItsThread() throws Exception {
        IoLoop loop = new IoLoop("stop-test");
        List<String> hooks = new CopyOnWriteArrayList<>();
        loop.onStop(() -> hooks.add("kept on " + Thread.currentThread().getName()));
        Runnable remove = loop.onStop(() -> hooks.add("removed"));
        remove.run();
        loop.close();

        assertThat(hooks).containsExactly("kept on stop-test");
        // A task handed to a stopped loop would never run: the caller learns at once.
        assertThatThrownBy(() -> loop.execute(() -> { }))
                .isInstanceOf(java.util.concurrent.RejectedExecutionException.class)
                .hasMessageContaining("stop-test has stopped");
    }

    @Test
    void aCancelledTimerLetsGoOfItsTaskAtOnce() throws Exception {
        try (IoLoop loop = new IoLoop("release-test")) {
            Object[] payload = {new byte[1 << 20]};
            java.lang.ref.WeakReference<Object> held = new java.lang.ref.WeakReference<>(payload[0]);
            CountDownLatch cancelled = new CountDownLatch(1);
            loop.execute(() -> {
                Object big = payload[0];
                Runnable cancel = loop.schedule(Duration.ofHours(1), () -> assertThat(big).isNotNull());
                cancel.run();
                cancelled.countDown();
            });
            assertThat(cancelled.await(5, TimeUnit.SECONDS)).isTrue();
            payload[0] = null;
            // The hour-long timer is still queued; what it captured must not be.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
                System.gc();
                return held.get() == null;
            });
        }
    }
}

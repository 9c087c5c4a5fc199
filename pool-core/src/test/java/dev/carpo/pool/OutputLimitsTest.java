package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.carpo.pool.kernel.DisplayOutput;
import dev.carpo.pool.kernel.OutputListener;
import dev.carpo.pool.kernel.OutputLimitException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Output limits against a real ipykernel: head and tail kept, the middle dropped and said so, for
 * every kind of output; a message too large to receive ends its job at once with a clear reason.
 * One pool of one kernel with a 64 KiB limit (a message over 2 MiB + 64 KiB, the floor of the bound, is refused).
 */
class OutputLimitsTest {
    static final long LIMIT = 64 * 1024;

    @TempDir
    static Path dir;
    static final PoolTesting testing = new PoolTesting();
    static KernelPools pools;
    static LanguagePool py;

    @BeforeAll
    static void start() {
        pools = testing.pools(dir);
        py = pools.createPool("python", "python3", PoolOptions.builder().size(1).maxOutputBytes(LIMIT)
                .init("import sys, time").interruptGrace(Duration.ofSeconds(5)).build());
    }

    @AfterAll
    static void stop() {
        pools.close();
        testing.assertNoKernelLeft();
    }

    private static ExecutionResult run(String code) throws Exception {
        return py.submit(code).get(T.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Test
    void streamOutputPastTheLimitKeepsHeadAndTailAndSaysHowMuchWasDropped() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        long[] told = {-1};
        OutputListener listener = new OutputListener() {
            @Override
            public void onStream(String name, String text) {
                seen.add(text);
            }

            @Override
            public void onTruncated(long droppedBytes) {
                told[0] = droppedBytes;
                seen.add("<cut>");
            }
        };
        ExecutionResult r = py.submit("for i in range(100000):\n    print(i)\n    if i % 1000 == 0: sys.stdout.flush()",
                ExecuteOptions.builder().listener(listener).build()).get(T.toMillis(), TimeUnit.MILLISECONDS);
        long total = 0;
        for (int i = 0; i < 100000; i++) {
            total += Integer.toString(i).length() + 1;
        }
        assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
        assertThat(r.truncated()).isTrue();
        assertThat(r.stdout()).startsWith("0\n1\n2\n").endsWith("99998\n99999\n")
                .contains("[carpo: ").contains(" bytes of output dropped]");
        String marker = r.stdout().lines().filter(l -> l.startsWith("[carpo: ")).findFirst().orElseThrow();
        long kept = r.stdout().length() - marker.length() - 2;
        assertThat(kept).isLessThanOrEqualTo(LIMIT);
        assertThat(r.droppedBytes()).isEqualTo(total - kept);
        await().atMost(T).until(() -> told[0] >= 0);
        assertThat(told[0]).isEqualTo(r.droppedBytes());
        // The listener saw exactly what the result keeps: the head, the cut, then the tail.
        String streamed = String.join("", seen);
        assertThat(streamed.replace("<cut>", "\n" + marker + "\n")).isEqualTo(r.stdout());
    }

    @Test
    void aSlowListenerMissesWhatItCannotKeepUpWithAndIsToldSo() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger outputs = new java.util.concurrent.atomic.AtomicInteger();
        long[] missed = {-1};
        OutputListener slow = new OutputListener() {
            @Override
            public void onOutput(DisplayOutput output) {
                if (outputs.getAndIncrement() == 0) {
                    try {
                        release.await(30, TimeUnit.SECONDS); // held until the kernel has sent every update
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }

            @Override
            public void onTruncated(long droppedBytes) {
                missed[0] = droppedBytes;
            }
        };
        Path done = dir.resolve("updates-sent");
        var future = py.submit("from IPython.display import display, HTML\nh = display(HTML('start'), display_id=True)\n"
                + "for i in range(500): h.update(HTML(str(i) * 3_000))\nopen(r'" + done + "', 'w').close()",
                ExecuteOptions.builder().listener(slow).build());
        // The kernel's 500 updates of 3-9 KB each (4 MB in all) arrive while the listener is stuck: they must not all be queued for it.
        await().atMost(T).until(() -> java.nio.file.Files.exists(done));
        release.countDown();
        ExecutionResult r = future.get(T.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
        assertThat(r.outputs()).hasSize(1);
        assertThat(r.outputs().get(0).text("text/html")).startsWith("499499");
        await().atMost(T).until(() -> missed[0] > 0);
        assertThat(outputs.get()).isLessThan(500);
    }

    @Test
    void outputWithinTheLimitIsWholeAndNotTruncated() throws Exception {
        ExecutionResult r = run("print('x' * 1000)");
        assertThat(r.truncated()).isFalse();
        assertThat(r.droppedBytes()).isZero();
        assertThat(r.stdout()).isEqualTo("x".repeat(1000) + "\n");
    }

    @Test
    void richOutputsTracebacksAndResultsAreBoundedToo() throws Exception {
        ExecutionResult display = run("from IPython.display import display, HTML\nfor i in range(200): display(HTML('<p>' + str(i) * 200 + '</p>'))");
        assertThat(display.truncated()).isTrue();
        assertThat(display.outputs()).isNotEmpty();
        assertThat(display.outputs().get(0).text("text/html")).startsWith("<p>000");
        assertThat(display.outputs().get(display.outputs().size() - 1).text("text/html")).startsWith("<p>199199");
        long kept = display.outputs().stream().mapToLong(o -> o.text("text/html").length()).sum();
        assertThat(kept).isLessThan(LIMIT);

        ExecutionResult error = run("raise ValueError('v' * 40_000)");
        assertThat(error.status()).isEqualTo(ExecutionStatus.ERROR);
        assertThat(error.error().ename()).isEqualTo("ValueError");
        assertThat(error.error().evalue()).startsWith("vvvv").hasSizeLessThan((int) LIMIT / 4);
        long tracebackBytes = error.error().traceback().stream().mapToLong(String::length).sum();
        assertThat(tracebackBytes).isLessThanOrEqualTo(LIMIT / 4);
        assertThat(error.error().traceback()).anyMatch(l -> l.contains("traceback line(s) dropped"));
        assertThat(error.truncated()).isTrue();

        ExecutionResult value = run("'y' * 150_000");
        assertThat(value.truncated()).isTrue();
        assertThat(value.text()).startsWith("'yyyy").endsWith("…");
        assertThat(value.text().length()).isLessThanOrEqualTo((int) LIMIT);
    }

    @Test
    void aMessageTooLargeToReceiveEndsTheJobAtOnceAndTheKernelServesTheNext() throws Exception {
        String before = py.stats().instances().get(0).kernelId();
        long t0 = System.nanoTime();
        Throwable failure = catchThrowable(() -> run("print('x' * 25_000_000)"));
        assertThat(failure).isInstanceOf(ExecutionException.class).cause().isInstanceOf(PoolOutputLimitException.class)
                .hasMessageContaining("instance 0").hasMessageContaining("on iopub").hasMessageContaining("refused unread");
        assertThat(((PoolException) failure.getCause()).reason()).isEqualTo("output_limit");
        assertThat(failure.getCause().getCause()).isInstanceOf(OutputLimitException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
        ExecutionResult next = run("6 * 7");
        assertThat(next.text()).isEqualTo("42");
        assertThat(next.truncated()).isFalse();
        assertThat(py.stats().outputLimited()).isGreaterThanOrEqualTo(1);
        // Interrupted and back, or replaced if it did not come back: either way, it serves.
        assertThat(py.stats().instances().get(0).kernelId()).isNotNull();
        assertThat(before).isNotNull();
    }

    @Test
    void aReplyPayloadTooLargeToReceiveEndsTheJobWithAClearReason() throws Exception {
        Throwable failure = catchThrowable(() -> run(
                "get_ipython().payload_manager.write_payload({'source': 'page', 'data': {'text/plain': 'p' * 25_000_000}, 'start': 0})"));
        assertThat(failure).isInstanceOf(ExecutionException.class).cause().isInstanceOf(PoolOutputLimitException.class)
                .hasMessageContaining("on shell");
        assertThat(run("1 + 1").text()).isEqualTo("2");
    }

    @Test
    void aPayloadWithinTheWireBoundButOverTheLimitIsDroppedAndSaidSo() throws Exception {
        ExecutionResult r = run(
                "get_ipython().payload_manager.write_payload({'source': 'page', 'data': {'text/plain': 'p' * 100_000}, 'start': 0})");
        assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
        assertThat(r.truncated()).isTrue();
        assertThat(r.execution().reply().path("payload").size()).isZero();
    }

    @Test
    void deeplyNestedDisplayDataArrivesWhole() throws Exception {
        ExecutionResult r = run("sys.setrecursionlimit(20000)\nfrom IPython.display import display\nd = 0\n"
                + "for _ in range(1500): d = [d]\ndisplay({'application/json': d}, raw=True)");
        assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
        assertThat(r.truncated()).isFalse();
        assertThat(r.outputs()).hasSize(1);
        DisplayOutput out = r.outputs().get(0);
        int depth = 0;
        for (var node = out.data().get("application/json"); node.isArray(); node = node.get(0)) {
            depth++;
        }
        assertThat(depth).isEqualTo(1500);
    }

    @Test
    void displayDataNestedPastWhatWeReadIsReportedNotSilentlyDropped() throws Exception {
        ExecutionResult r = run("sys.setrecursionlimit(20000)\nfrom IPython.display import display\nd = 0\n"
                + "for _ in range(3000): d = [d]\ndisplay({'application/json': d}, raw=True)\nprint('after')");
        assertThat(r.status()).isEqualTo(ExecutionStatus.OK);
        assertThat(r.truncated()).isTrue();
        assertThat(r.droppedBytes()).isGreaterThan(6000);
        assertThat(r.stdout()).isEqualTo("after\n");
    }
}

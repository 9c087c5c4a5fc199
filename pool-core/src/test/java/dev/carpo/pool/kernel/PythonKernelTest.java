package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fresh real ipykernel per test (one I/O runtime for the class). Sharing one kernel across tests
 * let an ipykernel that stopped answering (seen twice in clean-clone CI runs, also deaf to
 * jupyter_client itself) fail every later test; now it can fail only the test that hit it.
 */
class PythonKernelTest {
    static final Duration T = Duration.ofSeconds(30);

    @TempDir
    static Path runtimeDir;
    static KernelRuntime runtime;
    Kernel kernel;

    @BeforeAll
    static void startRuntime() {
        runtime = KernelRuntime.create();
    }

    @AfterAll
    static void stopRuntime() {
        runtime.close();
    }

    @BeforeEach
    void startKernel() throws Exception {
        kernel = runtime.start(TestKernels.python(), TestKernels.options(runtimeDir)).get(90, TimeUnit.SECONDS);
    }

    @AfterEach
    void stopKernel() {
        kernel.close();
    }

    @Test
    void readyKernelReportsItsInfoAndAPrivateConnectionFile() throws Exception {
        assertThat(kernel.kernelInfo().path("language_info").path("name").asText()).isEqualTo("python");
        assertThat(kernel.kernelInfo().path("protocol_version").asText()).startsWith("5.");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kernel.connectionFile()))).isEqualTo("rw-------");
        assertThat(kernel.connectionInfo().ip()).isEqualTo("127.0.0.1");
        assertThat(kernel.requestKernelInfo().get(10, TimeUnit.SECONDS).path("implementation").asText()).isEqualTo("ipython");
        assertThat(ProcessHandle.of(kernel.pid()).orElseThrow().info().commandLine().orElse(""))
                .contains("ipykernel_launcher").contains(kernel.connectionFile().toString());
    }

    @Test
    void stdoutStderrAndResultInOrder() {
        KernelExecution r = kernel.execute("""
                import sys
                print('one'); print('err1', file=sys.stderr); print('two')
                sys.stderr.write('err2\\n')
                21 * 2""", T);
        assertThat(r.status()).isEqualTo(ReplyStatus.OK);
        assertThat(r.stdout()).isEqualTo("one\ntwo\n");
        assertThat(r.stderr()).isEqualTo("err1\nerr2\n");
        assertThat(r.text()).isEqualTo("42");
        assertThat(r.executionCount()).isPositive();
        assertThat(r.error()).isNull();
        assertThat(r.runTime().isNegative()).isFalse();
        assertThat(r.finished()).isAfterOrEqualTo(r.sent());
    }

    @Test
    void aStageOfOneExecutionMayBlockOnTheNextWithoutDeadlock() throws Exception {
        // The stage runs where the future completed; were that this kernel's serial callback
        // executor, the nested execute would wait behind itself until its timeout.
        CompletableFuture<String> nested = kernel.execute(ExecuteRequest.of("import time; time.sleep(0.3); 1"))
                .thenApply(first -> first.text() + " then " + kernel.execute("2 + 2", T).text());
        assertThat(nested.get(30, TimeUnit.SECONDS)).isEqualTo("1 then 4");
    }

    @Test
    void executionCountAdvances() {
        int first = kernel.execute("1", T).executionCount();
        int second = kernel.execute("2", T).executionCount();
        assertThat(second).isEqualTo(first + 1);
    }

    @Test
    void displayDataAndUpdatesAndClearOutput() {
        KernelExecution shown = kernel.execute("""
                from IPython.display import display, HTML
                display(HTML('<b>bold</b>'))
                h = display('one', display_id=True)
                h.update('two')""", T);
        assertThat(shown.outputs()).hasSize(2);
        assertThat(shown.outputs().get(0).type()).isEqualTo("display_data");
        assertThat(shown.outputs().get(0).text("text/html")).isEqualTo("<b>bold</b>");
        assertThat(shown.outputs().get(1).displayId()).isNotNull();
        assertThat(shown.outputs().get(1).text("text/plain")).isEqualTo("'two'");
        assertThat(shown.text()).isNull();

        KernelExecution cleared = kernel.execute("""
                from IPython.display import clear_output, display
                print('before'); display('gone')
                clear_output()
                print('after')
                clear_output(wait=True)
                print('last')""", T);
        assertThat(cleared.stdout()).isEqualTo("last\n");
        assertThat(cleared.outputs()).isEmpty();
    }

    @Test
    void errorCarriesNameValueAndTraceback() {
        KernelExecution r = kernel.execute("def f():\n    return 1 / 0\nf()", T);
        assertThat(r.status()).isEqualTo(ReplyStatus.ERROR);
        assertThat(r.error().ename()).isEqualTo("ZeroDivisionError");
        assertThat(r.error().evalue()).isEqualTo("division by zero");
        assertThat(r.error().toString()).isEqualTo("ZeroDivisionError: division by zero");
        // Tracebacks keep IPython's ANSI colours; strip them to check the frames.
        String traceback = String.join("\n", r.error().traceback()).replaceAll("\u001b\\[[0-9;]*m", "");
        assertThat(traceback).contains("----> 3 f()").contains("return 1 / 0");

        KernelExecution syntax = kernel.execute("def (:", T);
        assertThat(syntax.status()).isEqualTo(ReplyStatus.ERROR);
        assertThat(syntax.error().ename()).isEqualTo("SyntaxError");
        assertThat(kernel.execute("'still fine'", T).text()).isEqualTo("'still fine'");
    }

    @Test
    void stopOnErrorAbortsQueuedExecutionsOnlyWhenAsked() throws Exception {
        // The loose half first: after a stop_on_error failure ipykernel keeps aborting whatever arrives
        // before its stop-aborting callback runs, so the strict half would race the loose one.
        var failingLoose = kernel.execute(ExecuteRequest.builder("import time; time.sleep(0.5); 1/0").stopOnError(false).build());
        var after = kernel.execute(ExecuteRequest.of("'runs'"));
        assertThat(failingLoose.get(30, TimeUnit.SECONDS).status()).isEqualTo(ReplyStatus.ERROR);
        assertThat(after.get(30, TimeUnit.SECONDS).text()).isEqualTo("'runs'");

        var failing = kernel.execute(ExecuteRequest.builder("import time; time.sleep(0.5); 1/0").build());
        var queued = kernel.execute(ExecuteRequest.of("'queued'"));
        assertThat(failing.get(30, TimeUnit.SECONDS).status()).isEqualTo(ReplyStatus.ERROR);
        assertThat(queued.get(30, TimeUnit.SECONDS).status()).isEqualTo(ReplyStatus.ABORTED);
    }

    /**
     * A kernel whose abort window after an error is widened to 5 s makes ipykernel's race certain:
     * a stop_on_error failure aborts the next request even when it was sent after the failure
     * completed, so the blocking {@code execute(code, timeout)}, which has nothing queued behind it,
     * must not ask for stop_on_error.
     */
    @Test
    void blockingExecuteAfterAnErrorIsNeverAborted(@TempDir Path dir) throws Exception {
        KernelSpec python = TestKernels.python();
        var argv = new java.util.ArrayList<>(python.argv());
        argv.add("--Kernel.stop_on_error_timeout=5");
        KernelSpec slowAbort = new KernelSpec(python.name(), python.resourceDir(), argv, python.displayName(),
                python.language(), python.env(), python.interruptMode(), python.metadata());
        try (Kernel k = runtime.start(slowAbort, TestKernels.options(dir)).get(90, TimeUnit.SECONDS)) {
            assertThat(k.execute("1/0", T).status()).isEqualTo(ReplyStatus.ERROR);
            assertThat(k.execute("'next'", T).text()).isEqualTo("'next'");

            assertThat(k.execute(ExecuteRequest.of("1/0")).get(30, TimeUnit.SECONDS).status()).isEqualTo(ReplyStatus.ERROR);
            assertThat(k.execute(ExecuteRequest.of("'sent after the failure completed'")).get(30, TimeUnit.SECONDS).status())
                    .isEqualTo(ReplyStatus.ABORTED);
        }
    }

    @Test
    void inputIsAnsweredByTheHandler() throws Exception {
        List<String> prompts = new CopyOnWriteArrayList<>();
        KernelExecution r = kernel.execute(ExecuteRequest.builder("name = input('who? ')\nprint('hi', name)")
                .input((prompt, password) -> {
                    prompts.add(prompt);
                    return "Ada";
                }).build()).get(30, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(ReplyStatus.OK);
        assertThat(r.stdout()).isEqualTo("hi Ada\n");
        assertThat(prompts).containsExactly("who? ");
    }

    @Test
    void inputWithoutHandlerRaisesInTheKernelInsteadOfHanging() throws Exception {
        KernelExecution r = kernel.execute(ExecuteRequest.builder("input('who? ')").timeout(T).build()).get(40, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(ReplyStatus.ERROR);
        assertThat(r.error().ename()).isEqualTo("StdinNotImplementedError");
    }

    @Test
    void unicodeSurvivesBothWays() {
        KernelExecution r = kernel.execute("s = 'héllo wörld ✓ 日本語 🎉'\nprint(s)\nlen(s)", T);
        assertThat(r.stdout()).isEqualTo("héllo wörld ✓ 日本語 🎉\n");
        assertThat(r.text()).isEqualTo("19"); // code points: the emoji is one, though two Java chars
    }

    @Test
    void tenMegabytesOfOutputArriveWholeWhenTheLimitsAllowIt() throws Exception {
        String code = """
                import sys
                for i in range(10):
                    sys.stdout.write(str(i) * 1_000_000)
                print()""";
        // Under the default limits (1 MiB kept, 2 MiB a message) the coalesced write is refused, and the result says so.
        KernelExecution bounded = kernel.execute(code, Duration.ofSeconds(120));
        assertThat(bounded.truncated()).isTrue();
        assertThat(bounded.droppedBytes()).isGreaterThanOrEqualTo(KernelOptions.DEFAULT_MAX_MESSAGE_BYTES);
        assertThat(bounded.stdout().length()).isLessThanOrEqualTo((int) ExecuteRequest.DEFAULT_MAX_OUTPUT_BYTES + 100);

        KernelOptions roomy = KernelOptions.builder().runtimeDir(runtimeDir).startupTimeout(Duration.ofSeconds(90))
                .maxMessageBytes(64L << 20).build();
        try (Kernel big = runtime.start(TestKernels.python(), roomy).get(90, TimeUnit.SECONDS)) {
            KernelExecution r = big.execute(ExecuteRequest.builder(code).maxOutputBytes(32L << 20)
                    .timeout(Duration.ofSeconds(120)).build()).get(120, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(ReplyStatus.OK);
            assertThat(r.truncated()).isFalse();
            assertThat(r.stdout()).hasSize(10_000_001);
            for (int i = 0; i < 10; i++) {
                assertThat(r.stdout().charAt(i * 1_000_000)).isEqualTo((char) ('0' + i));
                assertThat(r.stdout().charAt(i * 1_000_000 + 999_999)).isEqualTo((char) ('0' + i));
            }
        }
    }


    @Test
    void listenerSeesOutputsAsTheyStream() throws Exception {
        CountDownLatch firstChunk = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> seen = new CopyOnWriteArrayList<>();
        var future = kernel.execute(ExecuteRequest.builder("""
                import time
                print('tick', flush=True)
                while not __import__('os').path.exists(%s): time.sleep(0.05)
                print('tock')
                'done'""".formatted("'" + runtimeDir.resolve("go").toString() + "'"))
                .listener(new OutputListener() {
                    @Override
                    public void onStream(String name, String text) {
                        seen.add(text);
                        firstChunk.countDown();
                    }

                    @Override
                    public void onOutput(DisplayOutput output) {
                        seen.add("result:" + output.text("text/plain"));
                    }
                }).build());
        // The first chunk arrives while the code is still running.
        assertThat(firstChunk.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(future).isNotDone();
        Files.createFile(runtimeDir.resolve("go"));
        KernelExecution r = future.get(30, TimeUnit.SECONDS);
        assertThat(String.join("", seen)).isEqualTo("tick\ntock\nresult:'done'");
        assertThat(r.stdout()).isEqualTo("tick\ntock\n");
        release.countDown();
    }

    @Test
    void completeInspectAndIsComplete() throws Exception {
        kernel.execute("import math", T);
        var completion = kernel.complete("math.sq", 7).get(30, TimeUnit.SECONDS);
        assertThat(completion.path("matches").toString()).contains("sqrt");
        assertThat(completion.path("cursor_start").asInt()).isEqualTo(5);
        assertThat(completion.path("cursor_end").asInt()).isEqualTo(7);
        var inspection = kernel.inspect("math.sqrt", 9, 0).get(30, TimeUnit.SECONDS);
        assertThat(inspection.path("found").asBoolean()).isTrue();
        assertThat(inspection.path("data").path("text/plain").asText()).contains("sqrt");
        assertThat(kernel.isComplete("for i in range(3):").get(10, TimeUnit.SECONDS).path("status").asText()).isEqualTo("incomplete");
        assertThat(kernel.isComplete("x = 1").get(10, TimeUnit.SECONDS).path("status").asText()).isEqualTo("complete");
    }

    @Test
    void interruptStopsALongSleep() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        // stop_on_error false: the KeyboardInterrupt is an error, and would open ipykernel's abort window.
        var sleeping = kernel.execute(ExecuteRequest.builder("import time\nprint('zz', flush=True)\ntime.sleep(60)")
                .stopOnError(false).listener(new OutputListener() {
                    @Override
                    public void onStream(String name, String text) {
                        running.countDown();
                    }
                }).build());
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
        kernel.interrupt().get(10, TimeUnit.SECONDS);
        KernelExecution r = sleeping.get(20, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(ReplyStatus.ERROR);
        assertThat(r.error().ename()).isEqualTo("KeyboardInterrupt");
        assertThat(kernel.execute("'after interrupt'", T).text()).isEqualTo("'after interrupt'");
    }

    @Test
    void timeoutFailsTheFutureButNotTheKernel() {
        assertThatThrownBy(() -> kernel.execute("import time; time.sleep(3)", Duration.ofMillis(300)))
                .isInstanceOf(ExecutionTimeoutException.class)
                .hasMessageContaining(kernel.id()).hasMessageContaining("300 ms");
        // The sleep finishes on its own; the next execution queues behind it and completes.
        assertThat(kernel.execute("'next'", T).text()).isEqualTo("'next'");
        assertThat(kernel.isAlive()).isTrue();
    }

    @Test
    void cancelledFutureLeavesTheKernelUsable() throws Exception {
        var f = kernel.execute(ExecuteRequest.of("import time; time.sleep(1); 'late'"));
        f.cancel(true);
        assertThatThrownBy(f::get).isInstanceOf(java.util.concurrent.CancellationException.class);
        assertThat(kernel.execute("'ok'", T).text()).isEqualTo("'ok'");
    }

    @Test
    void noMessageWasRejected() {
        assertThat(kernel.rejectedMessages()).isZero();
    }

    static void assertDiedWith(java.util.concurrent.Future<?> f, String... fragments) {
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(KernelDiedException.class)
                .satisfies(e -> {
                    for (String s : fragments) {
                        assertThat(e.getMessage()).contains(s);
                    }
                });
    }
}

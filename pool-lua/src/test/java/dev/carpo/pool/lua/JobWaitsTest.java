package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.luaj.vm2.LuaError;

/** Ctrl-C says what it stopped: nothing but the Lua code, or so many jobs (and pool starts...). */
class JobWaitsTest {
    private final JobWaits waits = new JobWaits();

    @Test
    void withNothingInFlightCtrlCIsJustAnInterruption() {
        waits.track(CompletableFuture.completedFuture("done long ago"));
        assertThat(waits.describeUnfinished()).isNull();
        assertThat(waits.cancelAll()).isEqualTo("interrupted (Ctrl-C)");
        assertThatThrownBy(() -> waits.checkInterrupt(null)).isInstanceOf(LuaError.class).hasMessage("interrupted (Ctrl-C)");
        assertThatThrownBy(() -> waits.checkInterrupt("execute_code")).hasMessage("execute_code: interrupted (Ctrl-C)");
    }

    @Test
    void ctrlCCountsWhatItCancelled() {
        CompletableFuture<String> a = waits.track(new CompletableFuture<>());
        CompletableFuture<String> b = waits.track(new CompletableFuture<>());
        CompletableFuture<String> start = waits.track(new CompletableFuture<>(), JobWaits.Work.POOL_START);
        waits.track(CompletableFuture.completedFuture("finished: not cancelled"));
        assertThat(waits.describeUnfinished()).isEqualTo("2 jobs and 1 pool start");

        assertThat(waits.cancelAll()).isEqualTo("interrupted (Ctrl-C); cancelled 2 jobs and 1 pool start");
        assertThat(a).isCancelled();
        assertThat(b).isCancelled();
        assertThat(start).isCancelled();
        assertThatThrownBy(() -> waits.checkInterrupt("wait_all")).hasMessage("wait_all: interrupted (Ctrl-C); cancelled 2 jobs and 1 pool start");
        assertThat(waits.track(new CompletableFuture<>())).as("a job submitted after the Ctrl-C").isCancelled();

        waits.clearInterrupt();
        waits.checkInterrupt("execute_code"); // the next evaluation starts afresh
        waits.track(new CompletableFuture<>());
        assertThat(waits.cancelAll()).isEqualTo("interrupted (Ctrl-C); cancelled 1 job");
    }
}

package dev.carpo.pool;

import static dev.carpo.pool.PoolTesting.T;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** leakDetectionThreshold: a lease held too long is reported once, with the stack of the code that took it. */
class LeakDetectionTest {
    @TempDir
    Path dir;

    @Test
    void aLeaseHeldPastTheThresholdIsLoggedOnceWithTheCallersStackAndCounted() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream err = System.err;
        // slf4j-simple writes to System.err as it is at each call.
        System.setErr(new PrintStream(new TeeStream(err, captured), true, StandardCharsets.UTF_8));
        try (KernelPools pools = KernelPools.builder().runtimeDir(dir).meterRegistry(registry).build()) {
            LanguagePool py = pools.createPool("python", "python3", PoolOptions.builder().size(2)
                    .leakDetectionThreshold(Duration.ofMillis(500)).build());
            // A lease given back in time is not reported.
            try (KernelLease quick = py.lease()) {
                quick.execute("1");
            }
            KernelLease held = takeALeaseAndForgetIt(py);
            await().atMost(T).until(() -> py.stats().leasesLeaked() == 1);
            // Once: it stays at one while the lease is still held, well past the threshold again.
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> py.stats().leasesLeaked() == 1);
            assertThat(registry.get("carpo.leases.leaked").tags("pool", "python").functionCounter().count()).isEqualTo(1.0);
            String log = captured.toString(StandardCharsets.UTF_8);
            assertThat(log).contains("pool 'python' instance " + held.instance() + ": a lease has been held for more than 500 ms")
                    .contains("taken here, by thread " + Thread.currentThread().getName())
                    .contains("LeakDetectionTest.takeALeaseAndForgetIt(LeakDetectionTest.java");
            assertThat(log.split("a lease has been held", -1)).hasSize(2);
            held.close();
            // Given back, the instance serves again; the count stays (the release is logged at INFO).
            try (KernelLease again = py.lease(Duration.ofSeconds(30))) {
                assertThat(again.execute("2").text()).isEqualTo("2");
            }
            assertThat(py.stats().leasesLeaked()).isEqualTo(1);
        } finally {
            System.setErr(err);
        }
    }

    private static KernelLease takeALeaseAndForgetIt(LanguagePool py) {
        return py.lease();
    }

    /** Writes to two streams. */
    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}

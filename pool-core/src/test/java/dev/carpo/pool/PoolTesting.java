package dev.carpo.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Shared set-up for pool tests: records every event and every kernel pid, to prove none survives. */
final class PoolTesting implements PoolListener {
    final List<PoolEvent> events = new CopyOnWriteArrayList<>();
    final Set<Long> pids = ConcurrentHashMap.newKeySet();

    @Override
    public void onEvent(PoolEvent event) {
        events.add(event);
        if (event.pid() > 0) {
            pids.add(event.pid());
        }
    }

    KernelPools pools(Path runtimeDir) {
        KernelPools pools = KernelPools.builder().runtimeDir(runtimeDir).build();
        pools.addListener(this);
        return pools;
    }

    long count(PoolEvent.Type type) {
        return events.stream().filter(e -> e.type() == type).count();
    }

    void assertNoKernelLeft() {
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                    .as("kernel process %d still alive", pid).isFalse();
        }
    }

    static final Duration T = Duration.ofSeconds(60);

    /**
     * Python that evaluates to the id of the ipykernel running it (from its connection file), to tell
     * kernels apart: os.getpid() is 2 in every kernel's PID namespace.
     */
    static final String KERNEL_ID = "__import__('os').path.basename(__import__('ipykernel.connect').connect.get_connection_file())[7:-5]";

    /** What {@link #KERNEL_ID} shows as a result for the kernel {@code kernelId}. */
    static String kernelIdText(String kernelId) {
        return "'" + kernelId + "'";
    }
}

package dev.carpo.pool;

import dev.carpo.pool.kernel.ConnectionInfo;
import dev.carpo.pool.kernel.InProcessKernel;
import dev.carpo.pool.server.Interpreter;
import dev.carpo.pool.server.KernelServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * A scripted kernel for dispatcher tests, served in the test's JVM through the real
 * {@link KernelServer} on loopback ZeroMQ: registered with
 * {@code KernelPools.runtime().serveInProcess(FakeKernel.PROVISIONER, fake)}, it serves every kernel
 * of a spec written by {@link #writeSpec}, so the pool starts, signals, kills and talks to it as to a
 * process, while the test decides when each step happens.
 *
 * <p>The code it runs:
 * <ul>
 *   <li>{@code hold NAME}: the cell runs until gate {@code NAME} is opened (its value is then
 *       {@code released NAME}); an interrupt ends it first with {@code KeyboardInterrupt}, unless the
 *       instance {@link Instance#ignoreInterrupts ignores interrupts};</li>
 *   <li>anything else: its value is the code itself, at once.</li>
 * </ul>
 *
 * <p>A gate is a named point where a fake blocks until the test {@link #open opens} it;
 * {@link #awaitReached} waits until something blocks there. Besides {@code hold}, a fake can be held
 * at the next start, before it binds its sockets ({@link #holdNextStart}); at its first kernel_info,
 * bound but not ready ({@link #holdNextKernelInfo}); between receiving an execute_request and
 * beginning the cell, before execute_input ({@link #holdBeforeCell}); and while delivering the next
 * interrupt ({@link #holdNextInterrupt}). No fake waits longer than {@link #WAIT}, so a broken test
 * fails rather than hangs; {@link #openAll} lets everything through for tear-down.
 *
 * <p>Each kernel started is an {@link Instance}, in start order ({@link #awaitInstance}), with its
 * kernel id, its executions per code, the interrupts that reached a running cell, and its end.
 */
final class FakeKernel implements InProcessKernel {
    /** The provisioner name of the specs this kernel serves. */
    static final String PROVISIONER = "carpo-test-fake";
    /** The longest a fake waits at a gate, and a test for a fake. */
    static final Duration WAIT = Duration.ofSeconds(20);
    /** A killed fake's exit code, as a process's after SIGKILL. */
    static final int KILLED = 137;

    private final Object monitor = new Object();
    // Guarded by monitor, as is every Instance's state; every change notifies it.
    private final List<Instance> instances = new ArrayList<>();
    private final Set<String> opened = new HashSet<>();
    private final Map<String, Instance> reached = new HashMap<>();
    private final ArrayDeque<String> startGates = new ArrayDeque<>();
    private final ArrayDeque<String> kernelInfoGates = new ArrayDeque<>();
    private final Map<String, String> beforeCellGates = new HashMap<>();
    private final ArrayDeque<String> interruptGates = new ArrayDeque<>();
    private boolean allOpen;

    /**
     * Writes {@code kernels/fake/kernel.json} under {@code dataDir}: served by this provisioner, with an
     * argv that fails if it is ever launched as a process. Returns the spec's directory.
     */
    static Path writeSpec(Path dataDir) throws IOException {
        Path specDir = dataDir.resolve("kernels").resolve("fake");
        Files.createDirectories(specDir);
        Files.writeString(specDir.resolve("kernel.json"), """
                {
                  "argv": ["/bin/false", "{connection_file}"],
                  "display_name": "Fake (in-process, for tests)",
                  "language": "fake",
                  "metadata": {"kernel_provisioner": {"provisioner_name": "%s"}}
                }
                """.formatted(PROVISIONER));
        return specDir;
    }

    // ---- what the test controls ----

    /** The next kernel start blocks at {@code gate} before binding its sockets (the runtime has no Kernel yet). */
    void holdNextStart(String gate) {
        synchronized (monitor) {
            startGates.add(gate);
        }
    }

    /** The next kernel started blocks at {@code gate} on its first kernel_info_request: launched, not ready. */
    void holdNextKernelInfo(String gate) {
        synchronized (monitor) {
            kernelInfoGates.add(gate);
        }
    }

    /**
     * The next execute_request for {@code code} blocks at {@code gate} after it arrives and before its
     * cell begins: no execute_input yet, and an interrupt meanwhile is dropped, as ipykernel drops a
     * SIGINT between cells.
     */
    void holdBeforeCell(String code, String gate) {
        synchronized (monitor) {
            beforeCellGates.put(code, gate);
        }
    }

    /** The next interrupt the runtime sends (its SIGINT) blocks at {@code gate} before it reaches the kernel. */
    void holdNextInterrupt(String gate) {
        synchronized (monitor) {
            interruptGates.add(gate);
        }
    }

    void open(String gate) {
        synchronized (monitor) {
            opened.add(gate);
            monitor.notifyAll();
        }
    }

    /** Opens every gate, now and later: for tear-down, so nothing waits out {@link #WAIT}. */
    void openAll() {
        synchronized (monitor) {
            allOpen = true;
            monitor.notifyAll();
        }
    }

    /** Waits until a fake blocks at {@code gate}, and returns it. */
    Instance awaitReached(String gate) {
        return awaitState(() -> reached.containsKey(gate), "a fake kernel to reach gate '" + gate + "'", () -> reached.get(gate));
    }

    /** Waits until the {@code n}-th kernel (from 0, in start order) has been started, and returns it. */
    Instance awaitInstance(int n) {
        return awaitState(() -> instances.size() > n, "fake kernel #" + n + " to start", () -> instances.get(n));
    }

    /** The kernel with this id. */
    Instance instance(String kernelId) {
        synchronized (monitor) {
            return instances.stream().filter(i -> i.kernelId.equals(kernelId)).findFirst()
                    .orElseThrow(() -> new AssertionError("no fake kernel " + kernelId));
        }
    }

    List<Instance> instances() {
        synchronized (monitor) {
            return List.copyOf(instances);
        }
    }

    /** How many times {@code code} ran, over every kernel. */
    int executions(String code) {
        synchronized (monitor) {
            return instances.stream().mapToInt(i -> i.executions.getOrDefault(code, 0)).sum();
        }
    }

    // ---- the provisioner ----

    @Override
    public Handle serve(String kernelId, ConnectionInfo connection) {
        Instance instance = new Instance(kernelId);
        String startGate;
        synchronized (monitor) {
            instances.add(instance);
            startGate = startGates.poll();
            instance.kernelInfoGate = kernelInfoGates.poll();
            monitor.notifyAll();
        }
        if (startGate != null) {
            waitAt(startGate, instance, () -> false);
        }
        KernelServer server;
        try {
            server = KernelServer.start(connection, instance.interpreter, instance.threadName());
        } catch (RuntimeException e) {
            instance.exit.complete(-1);
            throw e;
        }
        instance.server = server;
        server.onExit().whenComplete((v, e) -> {
            boolean killed;
            synchronized (monitor) {
                killed = instance.ending;
            }
            instance.exit.complete(killed ? KILLED : 0);
        });
        return instance;
    }

    /** Blocks at {@code gate} until it is open, {@code giveUp} holds, or {@link #WAIT} passes; true when opened. */
    private boolean waitAt(String gate, Instance who, BooleanSupplier giveUp) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        synchronized (monitor) {
            reached.putIfAbsent(gate, who);
            monitor.notifyAll();
            while (!isOpen(gate) && !giveUp.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    monitor.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return isOpen(gate);
        }
    }

    private boolean isOpen(String gate) {
        return allOpen || opened.contains(gate);
    }

    private <T> T awaitState(BooleanSupplier condition, String what, java.util.function.Supplier<T> value) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        synchronized (monitor) {
            while (!condition.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("waited " + WAIT.toSeconds() + " s for " + what);
                }
                try {
                    monitor.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted waiting for " + what, e);
                }
            }
            return value.get();
        }
    }

    /** One kernel the fake serves: its handle for the runtime, and what the test sees of it. */
    final class Instance implements Handle {
        final String kernelId;
        private final CompletableFuture<Integer> exit = new CompletableFuture<>();
        private final Interpreter interpreter = new Script();
        private volatile KernelServer server;
        // Guarded by monitor.
        private final Map<String, Integer> executions = new HashMap<>();
        private String kernelInfoGate;
        private boolean ignoreInterrupts;
        private boolean interruptRequested;
        private int interruptsDelivered;
        private int interruptedCells;
        /** An end is under way: the server sends nothing more, so interrupts from here on are the kill's own. */
        private boolean ending;
        private boolean killed;
        private boolean endedByHost;

        private Instance(String kernelId) {
            this.kernelId = kernelId;
        }

        String threadName() {
            return "carpo-fake-" + kernelId.substring(0, 8);
        }

        /** Dies now, as a kernel process killed from outside: nothing more is sent, and the runtime sees it exit. */
        void die() {
            end(false);
        }

        /** Interrupts reaching its cells from now on are counted and otherwise ignored: the cell runs on. */
        void ignoreInterrupts() {
            synchronized (monitor) {
                ignoreInterrupts = true;
            }
        }

        int executions(String code) {
            synchronized (monitor) {
                return executions.getOrDefault(code, 0);
            }
        }

        /** Interrupts that reached the interpreter while a cell ran (the server drops those between cells). */
        int interruptsDelivered() {
            synchronized (monitor) {
                return interruptsDelivered;
            }
        }

        /** {@code hold} cells that an interrupt ended. */
        int interruptedCells() {
            synchronized (monitor) {
                return interruptedCells;
            }
        }

        /** Whether its end was a kill from the runtime ({@link #kill}), not a shutdown_request or {@link #die}. */
        boolean endedByHost() {
            synchronized (monitor) {
                return endedByHost;
            }
        }

        /** Threads of its server still alive. */
        List<Thread> liveThreads() {
            String prefix = threadName() + "-";
            return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix) && t.isAlive()).toList();
        }

        @Override
        public CompletableFuture<Integer> onExit() {
            return exit;
        }

        @Override
        public void interrupt() {
            String gate;
            synchronized (monitor) {
                gate = interruptGates.poll();
            }
            if (gate != null) {
                waitAt(gate, this, () -> killed);
            }
            KernelServer s = server;
            if (s != null) {
                s.interrupt();
            }
        }

        @Override
        public void kill() {
            end(true);
        }

        private void end(boolean byHost) {
            synchronized (monitor) {
                if (ending) {
                    return;
                }
                ending = true;
                endedByHost = byHost;
            }
            // The server first: once it is killed nothing goes out, so the held cells woken below cannot answer.
            KernelServer s = server;
            if (s != null) {
                s.kill();
            }
            synchronized (monitor) {
                killed = true;
                monitor.notifyAll();
            }
        }

        @Override
        public String toString() {
            return "fake kernel " + kernelId;
        }

        /** The interpreter: {@code hold NAME} waits at gate NAME, anything else is its own value. */
        private final class Script implements Interpreter {
            @Override
            public LanguageInfo languageInfo() {
                String gate;
                synchronized (monitor) {
                    gate = kernelInfoGate;
                    kernelInfoGate = null;
                }
                if (gate != null) {
                    waitAt(gate, Instance.this, () -> killed);
                }
                return new LanguageInfo("fake", "1", "text/plain", ".fake", "carpo-fake", "1", "a scripted test kernel");
            }

            @Override
            public void beforeCell(String code) {
                String gate;
                synchronized (monitor) {
                    gate = beforeCellGates.remove(code);
                }
                if (gate != null) {
                    waitAt(gate, Instance.this, () -> killed);
                }
            }

            @Override
            public Outcome execute(String code, Output output) {
                synchronized (monitor) {
                    executions.merge(code, 1, Integer::sum);
                    monitor.notifyAll();
                }
                if (!code.startsWith("hold ")) {
                    return new Value(code);
                }
                String gate = code.substring("hold ".length());
                boolean released = waitAt(gate, Instance.this, () -> killed || interruptRequested);
                synchronized (monitor) {
                    if (killed) {
                        return new Failure("Killed", "", List.of());
                    }
                    if (released) {
                        return new Value("released " + gate);
                    }
                    if (interruptRequested) {
                        interruptedCells++;
                        monitor.notifyAll();
                        return new Failure("KeyboardInterrupt", "", List.of("KeyboardInterrupt"));
                    }
                    return new Failure("FakeTimeout", "gate '" + gate + "' not opened within " + WAIT.toSeconds() + " s", List.of());
                }
            }

            @Override
            public void interrupt() {
                synchronized (monitor) {
                    if (ending) {
                        return; // the server's kill interrupting its own cell, not the runtime's SIGINT
                    }
                    interruptsDelivered++;
                    if (!ignoreInterrupts) {
                        interruptRequested = true;
                    }
                    monitor.notifyAll();
                }
            }

            @Override
            public void clearInterrupt() {
                synchronized (monitor) {
                    interruptRequested = false;
                }
            }

            @Override
            public Completion complete(String code, int cursorPos) {
                return new Completion(List.of(), cursorPos, cursorPos);
            }

            @Override
            public Completeness isComplete(String code) {
                return new Completeness("complete", "");
            }

            @Override
            public void close() {
            }
        }
    }
}

package dev.carpo.pool.engine;

import dev.carpo.pool.PoolEvent;
import dev.carpo.pool.PoolException;
import dev.carpo.pool.PoolOptions;
import dev.carpo.pool.PoolState;
import dev.carpo.pool.Sandbox;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelDiedException;
import dev.carpo.pool.kernel.KernelMemoryLimitException;
import dev.carpo.pool.kernel.KernelOptions;
import dev.carpo.pool.kernel.KernelRuntime;
import dev.carpo.pool.kernel.KernelSandbox;
import dev.carpo.pool.kernel.KernelStartException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernels under the instances: starts them (for the floor, for waiting work up to the
 * ceiling, and for instances whose kernel died), takes them into service, gives an elastic pool's
 * idle extras back to commons-pool2, retires instances, and reacts to a kernel's death. How the
 * dispatcher and commons-pool2 share the kernels is explained in this package's documentation.
 * Starts run on the starter executor, never under the lock and never on commons-pool2's evictor.
 */
final class KernelSupply {
    private static final Logger LOG = LoggerFactory.getLogger(KernelSupply.class);

    private final PoolEngine engine;
    private final Executor starter;
    private final Runnable onClosed;
    private final GenericObjectPool<PooledKernel> kernels;
    /** Every kernel launched for this pool and not yet gone: starting, held, or warm in commons-pool2. */
    private final Set<Kernel> launched = ConcurrentHashMap.newKeySet();
    private final AtomicLong goneRejected = new AtomicLong();
    /** Starts in flight for new instances (not replacements). Under the lock. */
    private int startingNew;

    KernelSupply(PoolEngine engine, KernelRuntime runtime, Path runtimeDir, Executor starter, Runnable onClosed) {
        this.engine = engine;
        this.starter = starter;
        this.onClosed = onClosed;
        PoolOptions options = engine.options;
        KernelOptions kernelOptions = KernelOptions.builder()
                .env(options.env())
                .workingDirectory(options.workingDirectory())
                .runtimeDir(runtimeDir)
                .startupTimeout(options.startupTimeout())
                .heartbeatTimeout(options.heartbeatTimeout())
                .shutdownGrace(options.shutdownGrace())
                .gateway(options.gateway())
                .maxMessageBytes(options.maxMessageBytes())
                .memoryLimit(options.memoryLimit())
                .maxProcesses(options.maxProcesses())
                .sandbox(kernelSandbox(options.sandbox()))
                // A gateway's kernels run on its server, where carpo makes no directories.
                .scratchDirectory(options.freshLeases() && options.gateway() == null)
                .build();
        KernelFactory factory = new KernelFactory(runtime, engine.spec, kernelOptions, options.startupTimeout(),
                engine.setup::snapshot, this::launched, this::died);
        this.kernels = factory.objectPool(options.max(), options.idleTimeout());
    }

    /** The API's {@link Sandbox} as the kernel layer's, which may not know the API package. */
    private static KernelSandbox kernelSandbox(Sandbox sandbox) {
        return sandbox == null ? null : new KernelSandbox(sandbox.network(), sandbox.readOnly(), sandbox.writable());
    }

    GenericObjectPool<PooledKernel> objectPool() {
        return kernels;
    }

    int startingNew() {
        return startingNew;
    }

    /** Incoming messages dropped for a bad signature or framing, over every kernel this pool started. */
    long rejectedMessages() {
        long sum = goneRejected.get();
        for (Kernel k : launched) {
            sum += k.rejectedMessages();
        }
        return sum;
    }

    /**
     * commons-pool2 keeps at most {@code max} kernels warm. Its maxTotal stays unbounded (see
     * {@link KernelFactory#objectPool}): the engine bounds what it starts. Under the lock.
     */
    void updateBounds() {
        assert engine.held();
        kernels.setMaxIdle(engine.max);
    }

    /**
     * Gives an elastic pool's idle extras back to commons-pool2, where the evictor ends them after
     * idleTimeout. Not while any job waits, even on another instance's queue: {@link #reconcile}
     * counts those too, and would borrow the extra straight back, round and round. Under the lock.
     */
    void shrinkElastic(Effects effects) {
        assert engine.held();
        int excess = engine.activeCount() - engine.min;
        if (excess <= 0 || engine.queued > 0 || !engine.leaseRequests.isEmpty()) {
            return;
        }
        for (int i = engine.instances.size() - 1; i >= 0 && excess > 0; i--) {
            Instance s = engine.instances.get(i);
            // Not one being recycled: its successor takes over first (and a used fresh-leases kernel is discarded, not kept).
            if (!s.retiring() && s.usable() && s.idle() && s.due() == null && s.successor() == null && !s.replacing()
                    && !(engine.options.freshLeases() && s.kernel().used())) {
                engine.events.emit(PoolEvent.Type.RETIRED, i, s.kernel().kernel(), Duration.ZERO,
                        "kept warm for " + Recycling.describe(engine.options.idleTimeout()), PoolEvent.Reason.IDLE);
                engine.instances.remove(i);
                engine.counters.ended(PoolEvent.Reason.IDLE);
                PooledKernel pk = s.kernel();
                pk.cancelTimers();
                effects.then(() -> {
                    try {
                        kernels.returnObject(pk);
                    } catch (RuntimeException e) {
                        LOG.warn("pool '{}': returning {} failed", engine.language, pk, e);
                    }
                });
                excess--;
            }
        }
    }

    /** Removes an instance and ends its kernel (and a successor it had); its queued work goes back to the pool. Under the lock. */
    void retire(Instance s, Effects effects, PoolEvent.Reason reason, String detail) {
        assert engine.held();
        int index = engine.instances.indexOf(s);
        engine.instances.remove(s);
        engine.dispatcher.requeue(s, effects);
        if (s.hasKernel()) {
            retired(index, s.kernel(), reason, detail, effects);
        }
        PooledKernel next = s.successor();
        if (next != null) {
            s.successor(null);
            effects.then(() -> invalidate(next));
        }
        updateBounds();
    }

    /** Kernel {@code pk}, once of instance {@code index}, is retired for {@code reason}: told, counted, ended. Under the lock. */
    void retired(int index, PooledKernel pk, PoolEvent.Reason reason, String detail, Effects effects) {
        assert engine.held() && !reason.isDeath();
        engine.events.emit(PoolEvent.Type.RETIRED, index, pk.kernel(), Duration.ZERO, detail, reason);
        engine.counters.ended(reason);
        effects.then(() -> invalidate(pk));
    }

    /** Starts kernels for instances that lost theirs, for the floor, and for waiting work up to max. Under the lock. */
    void reconcile(Effects effects) {
        assert engine.held();
        if (engine.state == PoolState.CLOSED || engine.circuit.waiting()) {
            return;
        }
        // At most maxConcurrentStarts starts at once (a start is mostly CPU, and a scale to hundreds must not
        // fork hundreds of kernels together); the rest are issued here again as each one arrives.
        int room = engine.options.maxConcurrentStarts() - startingNew;
        for (Instance s : engine.instances) {
            if (s.replacing()) {
                room--;
            }
        }
        for (Instance s : engine.instances) {
            // A kernel for an instance that lost its own, or a successor for one whose kernel is due for recycling.
            boolean wants = !s.hasKernel() || (s.due() != null && s.successor() == null && !s.retiring());
            if (room > 0 && wants && !s.replacing()) {
                s.replacing(true);
                room--;
                borrow(s, effects);
            }
        }
        int capacity = engine.activeCount() + startingNew;
        int wanted = Math.max(0, engine.min - capacity);
        // Every job not yet started counts: round-robin and targeted jobs wait on instance queues.
        int waiting = engine.queued + engine.leaseRequests.size() - startingNew;
        if (waiting > 0 && noFreeInstance()) {
            wanted = Math.max(wanted, Math.min(waiting, engine.max - capacity));
        }
        if (engine.state == PoolState.FAILED && wanted == 0 && startingNew == 0
                && engine.instances.stream().noneMatch(Instance::replacing)) {
            wanted = 1; // probe: only a successful start closes the circuit
        }
        wanted = Math.min(wanted, Math.max(0, room));
        for (int i = 0; i < wanted; i++) {
            startingNew++;
            borrow(null, effects);
        }
    }

    private boolean noFreeInstance() {
        for (Instance s : engine.instances) {
            if (!s.retiring() && s.usable() && s.idle() && s.takesJobs()) {
                return false;
            }
        }
        return true;
    }

    /** Settles the scale requests (and the first start) once enough instances are ready. Under the lock. */
    void settleScaleRequests(Effects effects) {
        assert engine.held();
        if (engine.scaleRequests.isEmpty() || engine.state == PoolState.FAILED || engine.readyCount() < engine.min) {
            return;
        }
        for (PoolEngine.ScaleRequest r : engine.scaleRequests) {
            effects.complete(r.future, null);
        }
        engine.scaleRequests.clear();
    }

    /** Borrows a kernel on the starter executor, for {@code instance} (a replacement) or a new instance (null). */
    private void borrow(Instance instance, Effects effects) {
        long t0 = System.nanoTime();
        effects.then(() -> starter.execute(() -> {
            PooledKernel pk = null;
            Exception error = null;
            try {
                pk = kernels.borrowObject();
            } catch (Exception e) {
                error = e;
            } catch (Error e) {
                // arrived() must run whatever happened, or start() and scale() would wait for ever.
                error = new KernelStartException("kernel start failed: " + e, e);
            }
            arrived(instance, pk, error, Duration.ofNanos(System.nanoTime() - t0));
        }));
    }

    private void arrived(Instance instance, PooledKernel pk, Exception error, Duration elapsed) {
        engine.locked(effects -> {
            if (instance == null) {
                startingNew--;
            } else {
                instance.replacing(false);
            }
            if (engine.state == PoolState.CLOSED) {
                if (pk != null) {
                    effects.then(() -> invalidate(pk));
                }
            } else if (error != null || !pk.kernel().isAlive()) {
                if (pk != null) {
                    effects.then(() -> invalidate(pk));
                }
                engine.counters.startFailures++;
                failedInARow(error != null ? PoolEngine.unwrap(error) : pk.kernel().onDeath().getNow(null), effects);
            } else {
                accept(instance, pk, elapsed, effects);
            }
        });
    }

    /** A ready kernel joins {@code instance} (if that still waits for one) or a new instance. Under the lock. */
    private void accept(Instance instance, PooledKernel pk, Duration elapsed, Effects effects) {
        assert engine.held();
        pk.joinedNanos(System.nanoTime());
        // A start only counts as a success once the kernel has lived through EARLY_DEATH, or served a job.
        pk.timer(engine.scheduler.schedule(() -> {
            synchronized (engine.lock) {
                if (pk.kernel().isAlive()) {
                    engine.circuit.succeeded();
                }
            }
        }, StartCircuit.EARLY_DEATH.toNanos(), TimeUnit.NANOSECONDS));
        if (pk.firstUse()) {
            engine.counters.kernelsStarted++;
            engine.meters.started(elapsed);
        }
        pk.startup(elapsed);
        Instance target;
        if (instance != null && engine.instances.contains(instance) && instance.hasKernel()) {
            // A successor: it waits beside the kernel it replaces until that one is idle (the pump hands over).
            instance.successor(pk);
            engine.dispatcher.pump(effects);
            return;
        }
        if (instance != null && !engine.instances.contains(instance) && engine.activeCount() >= engine.min) {
            // Its instance went (scaled down) while it started, and the pool is at its floor: keep it warm, do not grow.
            effects.then(() -> returnWarm(pk));
            engine.dispatcher.pump(effects);
            return;
        }
        if (instance != null && engine.instances.contains(instance)) {
            target = instance;
            if (target.replaced(pk)) {
                engine.counters.restarts++;
                tookOver(target, pk, PoolEvent.Type.RESTARTED, "", effects);
            } else {
                tookOver(target, pk, PoolEvent.Type.READY, "replaces a used kernel", effects);
            }
        } else {
            target = new Instance(pk);
            engine.instances.add(target);
            tookOver(target, pk, PoolEvent.Type.READY, "", effects);
        }
        if (engine.state != PoolState.RUNNING && engine.readyCount() >= engine.min) {
            if (engine.state == PoolState.FAILED) {
                LOG.info("pool '{}' recovered: a kernel started again", engine.language);
            }
            engine.state = PoolState.RUNNING;
            engine.failure = null;
        }
        engine.dispatcher.pump(effects);
    }

    /** One more failed start (or early death) in a row: open the circuit at the limit, and retry after the backoff. Under the lock. */
    private void failedInARow(Throwable cause, Effects effects) {
        assert engine.held();
        boolean limit = engine.circuit.failed();
        LOG.warn("pool '{}': kernel failed to start or died young ({} in a row): {}", engine.language,
                engine.circuit.failuresInARow(), PoolEngine.messageOf(cause));
        if (limit || engine.state == PoolState.FAILED) {
            engine.failure = cause;
            if (engine.state != PoolState.FAILED) {
                engine.state = PoolState.FAILED;
                failWaiting(effects);
            }
        }
        engine.circuit.scheduleRetry(engine.scheduler, () -> engine.locked(later -> {
            engine.circuit.retrying();
            engine.dispatcher.pump(later);
        }));
    }

    /** The circuit opened: every job, lease and scale request that is waiting fails now. Under the lock. */
    private void failWaiting(Effects effects) {
        assert engine.held();
        List<Job> waiting = new ArrayList<>(engine.queue);
        engine.queue.clear();
        for (Instance s : engine.instances) {
            waiting.addAll(s.queue);
            waiting.addAll(s.leaseQueue);
            s.queue.clear();
            s.leaseQueue.clear();
        }
        for (Job job : waiting) {
            engine.queued--;
            if (!job.isDone()) {
                engine.counters.rejected++;
                job.fail(engine.circuitOpen(-1), effects);
            }
        }
        engine.failRequests(() -> engine.circuitOpen(-1), effects);
    }

    /** A kernel this pool created died or was shut down (from its death future, on a callback thread). */
    private void died(PooledKernel pk, KernelDiedException cause) {
        launched.remove(pk.kernel());
        goneRejected.addAndGet(pk.kernel().rejectedMessages());
        engine.locked(effects -> {
            Instance s = null;
            for (Instance candidate : engine.instances) {
                if (candidate.kernel() == pk) {
                    s = candidate;
                }
                if (candidate.successor() == pk) {
                    successorDied(candidate, pk, cause, effects);
                    engine.dispatcher.pump(effects);
                }
            }
            if (s == null || engine.state == PoolState.CLOSED) {
                return; // idle in commons-pool2 (validation drops it), retired, or shutting down
            }
            if (cause.requested()) {
                // Shut down by its runtime (JVM exit), not by this pool: close rather than restart.
                effects.then(engine::close);
                return;
            }
            lost(s, pk, cause, effects);
        });
    }

    /** Instance {@code s} lost its kernel {@code pk}: its work fails, its lease breaks, and it is replaced or dropped. Under the lock. */
    private void lost(Instance s, PooledKernel pk, KernelDiedException cause, Effects effects) {
        assert engine.held();
        PoolEvent.Reason reason = deathReason(pk, cause);
        engine.counters.ended(reason);
        int index = engine.instances.indexOf(s);
        engine.events.emit(PoolEvent.Type.DEAD, index, pk.kernel(), Duration.ZERO, cause.getMessage(), reason);
        Job running = s.lost();
        if (running != null && !running.isDone()) {
            running.fail(engine.dispatcher.diedFailure(index, cause.getMessage(), cause), effects);
        }
        if (s.lease() != null) {
            s.lease().markBroken(cause);
            for (Job job : s.leaseQueue) {
                engine.queued--;
                engine.counters.kernelDied++;
                job.fail(engine.leaseBroken(index, cause), effects);
            }
            s.leaseQueue.clear();
            s.endLease();
        }
        effects.then(() -> invalidate(pk));
        PooledKernel next = s.successor();
        if (next != null) {
            // The successor that was to take over later takes over now.
            s.successor(null);
            if (next.kernel().isAlive() && engine.instances.contains(s)) {
                s.replaced(next);
                engine.counters.restarts++;
                tookOver(s, next, PoolEvent.Type.RESTARTED, "", effects);
            } else {
                effects.then(() -> invalidate(next));
            }
        }
        if (System.nanoTime() - pk.joinedNanos() < StartCircuit.EARLY_DEATH.toNanos() && !(cause instanceof KernelMemoryLimitException)) {
            // Crashed right after starting: like a failed start, restarts back off and the circuit can open.
            // (Not a memory limit: that is what a job did, and a fresh kernel is the cure, at once.)
            failedInARow(cause, effects);
        }
        dropIfUnneeded(s, effects);
        engine.dispatcher.pump(effects);
    }

    /**
     * {@code pk} has become {@code s}'s kernel (a new instance's, a restart, a successor taking over):
     * listeners are told with its start-up time, it catches up on setup code, and its lifetime clock
     * starts. Under the lock.
     */
    void tookOver(Instance s, PooledKernel pk, PoolEvent.Type type, String detail, Effects effects) {
        assert engine.held() && s.kernel() == pk;
        engine.events.emit(type, engine.instances.indexOf(s), pk.kernel(), pk.startup(), detail);
        engine.setup.catchUp(s, pk, effects);
        engine.recycling.joined(s, pk);
    }

    /**
     * An instance left without a kernel goes, rather than waiting for a new one, when it was retiring
     * or the pool is above its floor with nothing placed on it. Under the lock.
     */
    void dropIfUnneeded(Instance s, Effects effects) {
        assert engine.held();
        if (!s.hasKernel() && (s.retiring() || (engine.activeCount() > engine.min && s.queue.isEmpty()))) {
            engine.instances.remove(s);
            engine.dispatcher.requeue(s, effects);
            updateBounds();
        }
    }

    /**
     * Why {@code pk} died: what the pool killed it for, else its memory limit, else a lost gateway
     * kernel, else a silent one (no exit code: heartbeat or link lost), else a crash.
     */
    static PoolEvent.Reason deathReason(PooledKernel pk, KernelDiedException cause) {
        if (pk.killedFor() != null) {
            return pk.killedFor();
        }
        if (cause instanceof KernelMemoryLimitException) {
            return PoolEvent.Reason.MEMORY_LIMIT;
        }
        if (pk.kernel().connectionInfo() == null) {
            return PoolEvent.Reason.GATEWAY_LOST; // only a gateway's kernels have no connection info
        }
        return cause.exitCode() == null ? PoolEvent.Reason.HEARTBEAT : PoolEvent.Reason.CRASH;
    }

    /**
     * A successor died before it took over: it never served, so it counts as a failed start (backing
     * off, and opening the circuit if every start fails), and reconcile starts another. Under the lock.
     */
    void successorDied(Instance s, PooledKernel pk, KernelDiedException cause, Effects effects) {
        assert engine.held() && s.successor() == pk;
        s.successor(null);
        engine.counters.startFailures++;
        effects.then(() -> invalidate(pk));
        failedInARow(cause != null ? cause : new KernelStartException("kernel " + pk.kernel().id() + " died before it took over"), effects);
    }

    private void returnWarm(PooledKernel pk) {
        pk.cancelTimers();
        try {
            kernels.returnObject(pk);
        } catch (RuntimeException e) {
            LOG.warn("pool '{}': returning {} failed", engine.language, pk, e);
            invalidate(pk);
        }
    }

    /** A kernel process runs (not yet ready): on the starter thread, from the runtime. */
    private void launched(Kernel kernel) {
        launched.add(kernel);
        boolean closed;
        synchronized (engine.lock) {
            closed = engine.state == PoolState.CLOSED;
        }
        if (closed) {
            // Launched while the pool closes: end it now. Not connected yet, it could not answer a shutdown_request.
            kernel.kill();
            return;
        }
        engine.events.emit(PoolEvent.Type.STARTING, -1, kernel, Duration.ZERO, "");
    }

    void invalidate(PooledKernel pk) {
        pk.cancelTimers();
        try {
            kernels.invalidateObject(pk);
        } catch (Exception e) {
            // Not borrowed (already destroyed): shut it down directly.
            pk.kernel().shutdown();
        }
    }

    /** After the engine closed: ends {@code held} and every other kernel launched, then completes {@code done}. */
    void close(List<PooledKernel> held, CompletableFuture<Void> done) {
        List<CompletableFuture<Void>> shutdowns = new ArrayList<>();
        for (PooledKernel pk : held) {
            shutdowns.add(pk.kernel().shutdown());
            invalidate(pk);
        }
        kernels.close();
        for (Kernel k : launched) {
            shutdowns.add(k.shutdown()); // still starting, or idle in commons-pool2
        }
        CompletableFuture.allOf(shutdowns.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            onClosed.run();
            done.complete(null);
        });
    }
}

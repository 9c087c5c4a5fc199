package dev.carpo.pool.engine;

import dev.carpo.pool.ExecutionResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A pool's setup code: its init code, then every broadcast, in order. Each kernel runs all of it
 * once: a new kernel at start ({@link KernelFactory}), a live one as broadcast jobs on its queue.
 * When a kernel joins an instance, {@link #catchUp} settles the broadcasts still queued there for
 * the kernel it replaces, so none runs twice and none is skipped. Guarded by the engine's lock.
 */
final class SetupCode {
    private final PoolEngine engine;
    private final List<String> code = new ArrayList<>();

    SetupCode(PoolEngine engine) {
        this.engine = engine;
        code.addAll(engine.options.init());
    }

    /** What a kernel starting now must run, in order. Takes the lock. */
    List<String> snapshot() {
        synchronized (engine.lock) {
            return List.copyOf(code);
        }
    }

    /** Remembers a broadcast; returns its index. Under the lock. */
    int add(String broadcast) {
        assert engine.held();
        code.add(broadcast);
        return code.size() - 1;
    }

    /** A queued job running setup entry {@code index}, counted as submitted, with the pool's default timeout. Under the lock. */
    Job job(int index) {
        assert engine.held();
        Job job = new Job(code.get(index), engine.options.defaultTimeout(), null, null, null, index,
                engine.options.maxOutputBytes(), engine);
        engine.counters.submitted++;
        engine.queued++;
        engine.deadlines.add(job);
        return job;
    }

    /** Ends a broadcast job taken off a queue without running it: with a result it already has, or none (null). Under the lock. */
    void answer(Job job, ExecutionResult result, Effects effects) {
        assert engine.held();
        engine.queued--;
        job.complete(result, effects);
    }

    /**
     * {@code pk} has just joined {@code target}. Broadcasts still queued there for the kernel it
     * replaces are answered with the run {@code pk} made at start, or with none if {@code pk} (a
     * warm kernel) ran them while serving before; the rest stay as its catch-up. Then every entry
     * it has not run goes first on its queue, in order. Under the lock.
     */
    void catchUp(Instance target, PooledKernel pk, Effects effects) {
        assert engine.held();
        Map<Integer, Job> stale = new HashMap<>();
        for (Iterator<Job> it = target.queue.iterator(); it.hasNext(); ) {
            Job job = it.next();
            if (!job.isBroadcast() || job.isDone()) {
                continue;
            }
            it.remove();
            if (job.setupIndex < pk.startSetupCount()) {
                answer(job, engine.front.result(pk.startSetup(job.setupIndex), engine.instances.indexOf(target),
                        pk.kernel().id(), Duration.ofNanos(System.nanoTime() - job.submittedNanos)), effects);
            } else if (job.setupIndex < pk.setupApplied()) {
                answer(job, null, effects);
            } else {
                stale.put(job.setupIndex, job);
            }
        }
        for (int i = code.size() - 1; i >= pk.setupApplied(); i--) {
            Job job = stale.remove(i);
            if (job == null) {
                job = job(i);
            }
            job.instance = target;
            target.queue.addFirst(job);
        }
        pk.releaseStartSetup();
        pk.setupApplied(code.size());
    }
}

package dev.carpo.pool.engine;

import dev.carpo.pool.Dispatch;
import dev.carpo.pool.ExecutionResult;
import dev.carpo.pool.PoolEvent;
import dev.carpo.pool.PoolException;
import dev.carpo.pool.PoolKernelDiedException;
import dev.carpo.pool.PoolMemoryLimitException;
import dev.carpo.pool.PoolOutputLimitException;
import dev.carpo.pool.PoolState;
import dev.carpo.pool.PoolTimeoutException;
import dev.carpo.pool.kernel.CallbackFuture;
import dev.carpo.pool.kernel.ExecuteRequest;
import dev.carpo.pool.kernel.Kernel;
import dev.carpo.pool.kernel.KernelExecution;
import dev.carpo.pool.kernel.KernelMemoryLimitException;
import dev.carpo.pool.kernel.OutputLimitException;
import dev.carpo.pool.kernel.ReplyStatus;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where jobs go and how they end: placement by strategy, the pump that hands waiting work to free
 * instances (and then asks {@link KernelSupply} to grow, shrink and settle), and every way a job
 * finishes: a reply, a timeout, a refused message, a cancellation. Every method runs under the
 * engine's lock or takes it through {@link PoolEngine#locked}.
 */
final class Dispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    private final PoolEngine engine;
    /** Round-robin position. Under the lock. */
    private long next;

    Dispatcher(PoolEngine engine) {
        this.engine = engine;
    }

    /** Puts a new job where it waits: its lease, its instance, the strategy's choice, or the pool's queue. Under the lock. */
    void place(Job job, Integer instance) {
        assert engine.held();
        if (job.lease != null) {
            job.instance = job.lease.instance();
            job.instance.leaseQueue.add(job);
        } else if (instance != null) {
            job.instance = engine.instances.get(instance);
            job.instance.queue.add(job);
        } else if (engine.options.strategy() == Dispatch.ROUND_ROBIN) {
            List<Instance> active = engine.instances.stream().filter(s -> !s.retiring()).toList();
            if (active.isEmpty()) {
                engine.queue.add(job);
            } else {
                job.instance = active.get((int) (next++ % active.size()));
                job.instance.queue.add(job);
            }
        } else {
            engine.queue.add(job);
        }
    }

    /** Hands waiting work to free instances, then grows, shrinks and settles scale requests. Under the lock. */
    void pump(Effects effects) {
        assert engine.held();
        if (engine.state == PoolState.CLOSED) {
            return;
        }
        for (Instance s : List.copyOf(engine.instances)) {
            if (!s.free()) {
                continue;
            }
            if (s.lease() != null && s.leaseQueue.isEmpty() && s.lease().released()) {
                s.endLease();
            }
            if (engine.recycling.discardIfUsed(s, effects)) {
                continue; // a fresh-leases kernel after its lease or job: its instance waits for a new one
            }
            engine.recycling.handOverIfReady(s, effects);
            if (s.retiring() && !s.takesJobs() && !s.queue.isEmpty()) {
                // Scaled away after its last job: it will run nothing more, so what waits on it goes to the others.
                requeue(s, effects);
            }
            Job job = null;
            if (s.lease() != null) {
                job = s.leaseQueue.poll();
            } else if (s.takesJobs()) {
                job = s.queue.poll();
                if (job == null && !s.retiring()) {
                    PoolEngine.LeaseRequest request = engine.leaseRequests.poll();
                    if (request != null) {
                        grant(s, request, effects);
                        continue;
                    }
                    job = engine.queue.poll();
                }
            }
            if (job != null) {
                engine.queued--;
                send(s, job, effects);
            } else if (s.retiring() && s.idle()) {
                engine.supply.retire(s, effects, dev.carpo.pool.PoolEvent.Reason.SCALE, "to " + engine.min);
            } else if (s.lease() == null && s.reportIdle()) {
                emit(PoolEvent.Type.IDLE, s, "");
            }
        }
        engine.supply.shrinkElastic(effects);
        engine.supply.reconcile(effects);
        engine.supply.settleScaleRequests(effects);
        int count = engine.instances.size();
        effects.thenQuick(() -> engine.meters.instances(count));
    }

    private void send(Instance s, Job job, Effects effects) {
        job.sent(s, engine.instances.indexOf(s));
        s.start(job);
        engine.meters.waited(job.queueWait);
        Kernel kernel = s.kernel().kernel();
        if (!job.isBroadcast()) {
            engine.recycling.sent(s);
        }
        if (s.reportBusy()) {
            emit(PoolEvent.Type.BUSY, s, "");
        }
        ExecuteRequest request = ExecuteRequest.builder(job.code).stopOnError(false).storeHistory(!job.isBroadcast())
                .maxOutputBytes(job.maxOutputBytes)
                .listener(new JobListener(job.listener, () -> engine.interrupts.begun(job), e -> outputRefused(job, e)))
                .input(job.input).build();
        // Handled where the kernel's future completes (the I/O loop, as the reply is read): the next job goes out from there.
        effects.thenQuick(() -> CallbackFuture.inline(kernel.execute(request)).whenCompleteInline((r, e) -> finished(s, job, kernel, r, e)));
    }

    /** The kernel answered {@code job} (or failed it): the job ends with that, unless it ended already. */
    private void finished(Instance s, Job job, Kernel kernel, KernelExecution result, Throwable error) {
        engine.locked(effects -> {
            s.ran(job);
            if (!job.isDone()) {
                if (error == null) {
                    engine.circuit.succeeded();
                    engine.counters.executed(result.status());
                    engine.meters.executed(result.runTime());
                    job.complete(engine.front.result(result, job.index, kernel.id(), job.queueWait), effects);
                    if (job.isBroadcast() && result.status() != ReplyStatus.OK) {
                        LOG.warn("pool '{}' instance {}: setup code failed: {}", engine.language, job.index, result.error());
                    }
                } else if (PoolEngine.unwrap(error) instanceof OutputLimitException limit) {
                    engine.counters.outputLimited++;
                    job.fail(outputLimit(job, limit), effects);
                } else {
                    Throwable cause = PoolEngine.unwrap(error);
                    job.fail(diedFailure(job.index, PoolEngine.messageOf(cause), cause), effects);
                }
            }
            pump(effects);
        });
    }

    /** A lease request takes a free instance. Under the lock. */
    private void grant(Instance s, PoolEngine.LeaseRequest request, Effects effects) {
        PoolEngine.cancelTimer(request.timer);
        Lease lease = new Lease(s, engine.instances.indexOf(s), s.kernel().kernel().id(), request.origin);
        s.grant(lease);
        s.kernel().leased();
        engine.leaks.granted(lease);
        if (s.reportBusy()) {
            emit(PoolEvent.Type.BUSY, s, "leased");
        }
        effects.deliver(() -> {
            if (!request.future.complete(engine.front.lease(lease))) {
                engine.release(lease); // the caller gave up on the same instant
            }
        });
    }

    /** A running job's failure for its kernel's death, counted: a memory limit's, or a plain death's. Under the lock. */
    PoolException diedFailure(int index, String message, Throwable cause) {
        assert engine.held();
        if (cause instanceof KernelMemoryLimitException limit) {
            engine.counters.memoryLimited++;
            return new PoolMemoryLimitException(engine.language, index, message, limit.limitBytes(), limit.peakBytes(), cause);
        }
        engine.counters.kernelDied++;
        return new PoolKernelDiedException(engine.language, index, message, cause);
    }

    void timedOut(Job job) {
        engine.locked(effects -> {
            if (job.isDone()) {
                return;
            }
            engine.counters.timeouts++;
            if (job.state() == JobState.QUEUED) {
                unqueue(job);
                job.fail(new PoolTimeoutException(engine.language, -1, "job did not start within " + job.timeout.toMillis()
                        + " ms (" + engine.queued + " other job(s) waiting)", null), effects);
            } else {
                // The interrupt goes out before the caller hears of the timeout.
                engine.interrupts.interrupt(job, job.state() == JobState.RUNNING, effects);
                job.fail(new PoolTimeoutException(engine.language, job.index, "job did not complete within "
                        + job.timeout.toMillis() + " ms; its kernel was interrupted", null), effects);
            }
            pump(effects);
        });
    }

    /**
     * A message for the job was too large to receive: the job ends now, as at a timeout (its output
     * cannot be complete, and the kernel may go on flooding), and the kernel is interrupted; it is
     * replaced if it does not come back within the interrupt grace.
     */
    private void outputRefused(Job job, OutputLimitException refused) {
        engine.locked(effects -> {
            if (job.isDone()) {
                return;
            }
            engine.counters.outputLimited++;
            engine.interrupts.interrupt(job, job.state() == JobState.RUNNING, effects);
            job.fail(outputLimit(job, refused), effects);
            pump(effects);
        });
    }

    private PoolOutputLimitException outputLimit(Job job, OutputLimitException refused) {
        return new PoolOutputLimitException(engine.language, job.index, refused.getMessage()
                + " (PoolOptions.maxMessageBytes(), from maxOutputBytes " + engine.options.maxOutputBytes()
                + "); the job was ended and its kernel interrupted", refused);
    }

    /** The caller cancelled the job's future. */
    void cancelled(Job job, boolean interrupt) {
        engine.locked(effects -> {
            JobState was = job.end();
            if (was == null) {
                return;
            }
            engine.counters.cancelled++;
            if (was == JobState.QUEUED) {
                unqueue(job);
            } else if (interrupt) {
                engine.interrupts.interrupt(job, was == JobState.RUNNING, effects);
            }
            pump(effects);
        });
    }

    /** Takes a job that has not been sent off whatever queue holds it. Under the lock. */
    private void unqueue(Job job) {
        boolean removed = engine.queue.remove(job);
        if (!removed && job.instance != null) {
            removed = job.instance.queue.remove(job) || job.instance.leaseQueue.remove(job);
        }
        if (removed) {
            engine.queued--;
        }
    }

    /**
     * Work still queued on an instance that goes away (placed there before it was chosen) is not
     * lost: back to the pool's queue. Its broadcasts are not: every other instance runs its own,
     * so they end with no result for this instance. Under the lock.
     */
    void requeue(Instance s, Effects effects) {
        assert engine.held();
        for (Job job : s.queue) {
            if (job.isBroadcast()) {
                engine.setup.answer(job, null, effects);
            } else {
                engine.queue.add(job);
            }
        }
        s.queue.clear();
    }

    private void emit(PoolEvent.Type type, Instance s, String detail) {
        engine.events.emit(type, engine.instances.indexOf(s), s.kernel().kernel(), Duration.ZERO, detail);
    }
}

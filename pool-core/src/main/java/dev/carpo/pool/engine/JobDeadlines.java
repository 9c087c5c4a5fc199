package dev.carpo.pool.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Every waiting or running job's timeout on one scheduler task, armed for the earliest deadline.
 * A task per job would reschedule the scheduler's head at every submission (each new job's timer
 * is the earliest once the last one is cancelled), and each of those wakes the scheduler thread: a
 * thread hand-off per job that buys nothing, since jobs nearly always end long before their
 * timeout. Here a job whose deadline falls after the armed one costs a tree insertion; the task
 * fires at the earliest deadline, times out what is due and arms itself for the next. Under the
 * engine's lock, except {@link #fire}.
 */
final class JobDeadlines {
    private static final Comparator<Job> BY_DEADLINE = Comparator.<Job>comparingLong(j -> j.deadline).thenComparingLong(j -> j.seq);

    private final PoolEngine engine;
    private final ScheduledExecutorService scheduler;
    private final TreeSet<Job> pending = new TreeSet<>(BY_DEADLINE);
    private long seq;
    private Future<?> armed;
    private long armedAt;

    JobDeadlines(PoolEngine engine, ScheduledExecutorService scheduler) {
        this.engine = engine;
        this.scheduler = scheduler;
    }

    /**
     * Starts {@code job}'s timeout, counted from its submission. Under the lock.
     *
     * @throws java.util.concurrent.RejectedExecutionException when the scheduler is shut down (nothing is then kept)
     */
    void add(Job job) {
        assert engine.held();
        long timeout = job.timeout.toNanos();
        job.deadline = timeout > Long.MAX_VALUE / 2 ? job.submittedNanos + Long.MAX_VALUE / 2 : job.submittedNanos + timeout;
        job.seq = seq++;
        pending.add(job);
        try {
            arm(job.deadline);
        } catch (RuntimeException e) {
            pending.remove(job);
            throw e;
        }
    }

    /** The job has ended: its timeout is off. Under the lock. */
    void remove(Job job) {
        pending.remove(job);
    }

    private void arm(long deadline) {
        if (armed != null && armedAt - deadline <= 0) {
            return; // the task armed for an earlier deadline re-arms itself for this one
        }
        Future<?> earlier = armed;
        armed = scheduler.schedule(this::fire, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        armedAt = deadline;
        if (earlier != null) {
            earlier.cancel(false);
        }
    }

    /** On the scheduler: times out every job past its deadline, and arms for the next. */
    private void fire() {
        List<Job> due = new ArrayList<>();
        synchronized (engine.lock) {
            armed = null;
            long now = System.nanoTime();
            while (!pending.isEmpty() && pending.first().deadline - now <= 0) {
                due.add(pending.pollFirst());
            }
            if (!pending.isEmpty()) {
                try {
                    arm(pending.first().deadline);
                } catch (RuntimeException shutDown) {
                    // The pools are closing: their close fails what is left.
                }
            }
        }
        for (Job job : due) {
            try {
                engine.dispatcher.timedOut(job);
            } catch (RuntimeException e) {
                // Out of the set already: each job due is told, whatever another's end threw.
                org.slf4j.LoggerFactory.getLogger(JobDeadlines.class).error("pool '{}': timing out a job failed", engine.language, e);
            }
        }
    }

    /** The pool is closed: its jobs have all ended, so the armed task (and the engine it holds) goes now, not at its deadline. Under the lock. */
    void close() {
        pending.clear();
        if (armed != null) {
            armed.cancel(false);
            armed = null;
        }
    }
}

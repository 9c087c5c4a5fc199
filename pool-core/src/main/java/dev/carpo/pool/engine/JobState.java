package dev.carpo.pool.engine;

/** Where one job stands, from its submission to its future's completion. */
enum JobState {
    /** Waiting on the pool's queue, an instance's queue or a lease's. */
    QUEUED,
    /** Its execute_request has gone to a kernel, which has not begun it yet (no execute_input): a SIGINT now would be lost. */
    SENT,
    /** Its kernel has begun running it (execute_input arrived). */
    RUNNING,
    /** Its future is completed (a result, a failure or a cancellation); its kernel may still be running it. */
    DONE
}

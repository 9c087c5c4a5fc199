package dev.carpo.pool;

/** The kernel's verdict on an execution. */
public enum ExecutionStatus {
    /** The code ran without raising. */
    OK,
    /** The code raised; see {@link ExecutionResult#error()}. */
    ERROR,
    /** The kernel skipped the code (only with stop-on-error, which pooled jobs never use). */
    ABORTED
}

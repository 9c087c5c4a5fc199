package dev.carpo.pool.engine;

import dev.carpo.pool.kernel.DisplayOutput;
import dev.carpo.pool.kernel.ExecutionError;
import dev.carpo.pool.kernel.LoopAwareListener;
import dev.carpo.pool.kernel.OutputListener;
import dev.carpo.pool.kernel.OutputLimitException;

/**
 * The caller's listener (if any), plus telling the pool, on the I/O loop thread, when the kernel
 * begins running the job and when a message for it was refused.
 */
final class JobListener implements LoopAwareListener {
    private final OutputListener caller;
    private final Runnable started;
    private final java.util.function.Consumer<OutputLimitException> refused;

    JobListener(OutputListener caller, Runnable started, java.util.function.Consumer<OutputLimitException> refused) {
        this.caller = caller;
        this.started = started;
        this.refused = refused;
    }

    @Override
    public void onTruncated(long droppedBytes) {
        if (caller != null) {
            caller.onTruncated(droppedBytes);
        }
    }

    @Override
    public void onRefused(OutputLimitException e) {
        if (caller != null) {
            caller.onRefused(e);
        }
        refused.accept(e);
    }

    @Override
    public void startedOnLoop(int executionCount) {
        started.run();
    }

    @Override
    public boolean wantsCalls() {
        return caller != null;
    }

    @Override
    public void onStarted(int executionCount) {
        if (caller != null) {
            caller.onStarted(executionCount);
        }
    }

    @Override
    public void onStream(String name, String text) {
        if (caller != null) {
            caller.onStream(name, text);
        }
    }

    @Override
    public void onOutput(DisplayOutput output) {
        if (caller != null) {
            caller.onOutput(output);
        }
    }

    @Override
    public void onError(ExecutionError error) {
        if (caller != null) {
            caller.onError(error);
        }
    }
}

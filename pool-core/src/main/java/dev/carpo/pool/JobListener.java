package dev.carpo.pool;

import dev.carpo.pool.kernel.DisplayOutput;
import dev.carpo.pool.kernel.ExecutionError;
import dev.carpo.pool.kernel.OutputListener;

/** The caller's listener (if any), plus telling the pool when the kernel begins running the job. */
final class JobListener implements OutputListener {
    private final OutputListener caller;
    private final Runnable started;

    JobListener(OutputListener caller, Runnable started) {
        this.caller = caller;
        this.started = started;
    }

    @Override
    public void onStarted(int executionCount) {
        started.run();
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

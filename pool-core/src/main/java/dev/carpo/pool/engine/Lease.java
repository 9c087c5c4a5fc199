package dev.carpo.pool.engine;

import dev.carpo.pool.kernel.KernelDiedException;

/**
 * The engine's side of a {@link dev.carpo.pool.KernelLease}: the instance it holds, and whether it
 * has been given back or broken by its kernel's death. Read from any thread; written under the
 * engine's lock.
 */
public final class Lease {
    private final Instance instance;
    private final int index;
    private final String kernelId;
    private volatile boolean released;
    private volatile KernelDiedException broken;
    /** Where the lease was asked for, when the pool detects leaks; else null. */
    final Throwable origin;
    final long grantedNanos = System.nanoTime();
    /** The leak check's timer, and whether it fired. Under the engine's lock. */
    java.util.concurrent.Future<?> leakTimer;
    boolean leaked;

    Lease(Instance instance, int index, String kernelId, Throwable origin) {
        this.instance = instance;
        this.index = index;
        this.kernelId = kernelId;
        this.origin = origin;
    }

    /** The instance index when the lease was granted. */
    public int index() {
        return index;
    }

    public String kernelId() {
        return kernelId;
    }

    public boolean released() {
        return released;
    }

    /** Why the leased kernel died, or null while it lives. */
    public KernelDiedException broken() {
        return broken;
    }

    Instance instance() {
        return instance;
    }

    void markReleased() {
        released = true;
    }

    void markBroken(KernelDiedException cause) {
        broken = cause;
    }
}

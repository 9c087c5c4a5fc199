package dev.carpo.pool;

/** The kernel running the job died; the message names the kernel, its exit code and the tail of its stderr. The pool replaces the kernel. */
public class PoolKernelDiedException extends PoolException {
    public PoolKernelDiedException(String pool, int instance, String message, Throwable cause) {
        super(pool, instance, message, cause);
    }

    @Override
    public String reason() {
        return "kernel_died";
    }
}

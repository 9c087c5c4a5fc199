package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A kernel a Jupyter Server or Enterprise Gateway runs for us. Its liveness is polled with
 * {@code GET /api/kernels/{id}} every heartbeat interval: gone (404) or {@code dead} ends it, and so
 * does a gateway that answers no poll for the heartbeat timeout. Ending it is {@code DELETE}.
 */
final class RemoteKernelHost implements KernelHost {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteKernelHost.class);

    private final GatewayClient client;
    private final String remoteId;
    private final KernelOptions options;
    private final Executor blocking;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private volatile String goneDetail;
    private volatile long lastAnswer = System.nanoTime();

    private RemoteKernelHost(GatewayClient client, String remoteId, KernelOptions options, Executor blocking) {
        this.client = client;
        this.remoteId = remoteId;
        this.options = options;
        this.blocking = blocking;
    }

    /** {@code POST /api/kernels}; blocks until the server has started the kernel (bounded by the startup timeout). */
    static RemoteKernelHost start(GatewayClient client, KernelSpec spec, KernelOptions options, Executor blocking) {
        String path = options.workingDirectory() != null ? options.workingDirectory().toString() : null;
        ObjectNode model = client.startKernel(spec.name(), options.env(), path, options.startupTimeout());
        RemoteKernelHost host = new RemoteKernelHost(client, model.get("id").asText(), options, blocking);
        host.schedulePoll();
        return host;
    }

    String remoteId() {
        return remoteId;
    }

    private void schedulePoll() {
        if (exit.isDone()) {
            return;
        }
        Executor later = CompletableFuture.delayedExecutor(options.heartbeatInterval().toMillis(), TimeUnit.MILLISECONDS, blocking);
        later.execute(this::poll);
    }

    private void poll() {
        if (exit.isDone()) {
            return;
        }
        client.kernelAsync(remoteId).whenComplete((model, error) -> {
            if (error != null) {
                long silentMs = (System.nanoTime() - lastAnswer) / 1_000_000;
                // A slow gateway is not a dead one: silence must outlast a request's own timeout too.
                long patience = Math.max(options.heartbeatTimeout().toMillis(),
                        client.gateway().requestTimeout().plus(options.heartbeatInterval()).toMillis());
                if (silentMs > patience) {
                    gone("lost: the gateway answered no status poll for " + silentMs + " ms ("
                            + KernelDiedException.describe(error) + ")");
                    // It may well still run there: ask for its deletion, best effort, so it does not linger when the gateway is back.
                    blocking.execute(() -> terminate(options.shutdownGrace().toMillis()));
                    return;
                }
            } else if (model.isEmpty()) {
                gone("is gone from the gateway (GET /api/kernels/" + remoteId + " answered 404)");
                return;
            } else if ("dead".equals(model.get().path("execution_state").asText())) {
                gone("is dead on the gateway (execution_state \"dead\")");
                blocking.execute(() -> terminate(options.shutdownGrace().toMillis()));
                return;
            } else {
                lastAnswer = System.nanoTime();
            }
            schedulePoll();
        });
    }

    private void gone(String detail) {
        if (goneDetail == null) {
            goneDetail = detail;
        }
        exit.complete(null);
    }

    @Override
    public long pid() {
        return -1;
    }

    @Override
    public boolean isRemote() {
        return true;
    }

    @Override
    public String location() {
        return client.gateway().location();
    }

    @Override
    public CompletableFuture<Integer> onExit() {
        return exit;
    }

    @Override
    public boolean isRunning() {
        return !exit.isDone();
    }

    @Override
    public String goneDetail() {
        return goneDetail;
    }

    @Override
    public String stderrTail(int maxLines) {
        return "";
    }

    @Override
    public void interrupt() {
        client.interrupt(remoteId);
    }

    /**
     * DELETE, retried while the server answers 5xx (Jupyter Server does while it restarts a kernel)
     * or cannot be reached, within the grace period plus one request timeout.
     */
    @Override
    public void terminate(long graceMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis)
                + client.gateway().requestTimeout().toNanos();
        for (int attempt = 1; ; attempt++) {
            long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            try {
                // The server sends shutdown_request, waits, then kills: our grace is its wait plus the call's own time.
                client.shutdown(remoteId, Duration.ofMillis(Math.max(1000, leftMs)));
                gone("was deleted from the gateway");
                return;
            } catch (GatewayException e) {
                boolean retriable = e.status() >= 500 || e.status() == -1;
                long pause = 500L * attempt;
                if (retriable && TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()) > pause) {
                    LOG.info("kernel {}: DELETE on {} failed ({}); trying again", remoteId, client.gateway().url(), e.getMessage());
                    backOff(pause);
                    continue;
                }
                LOG.warn("could not delete kernel {} from {}: {}", remoteId, client.gateway().url(), e.getMessage());
                gone("could not be deleted from the gateway: " + e.getMessage());
                return;
            }
        }
    }

    /** A pause between DELETE attempts (this runs on the blocking executor, never on the I/O loop). */
    private static void backOff(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void cleanup() {
        // Nothing of a remote kernel is kept here.
    }

    @Override
    public String describe() {
        return "gateway kernel " + remoteId + " on " + location();
    }
}

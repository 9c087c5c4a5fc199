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
    private static final int DELETE_ATTEMPTS = 5;

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
                if (silentMs > options.heartbeatTimeout().toMillis()) {
                    gone("lost: the gateway answered no status poll for " + silentMs + " ms ("
                            + KernelDiedException.describe(error) + ")");
                    return;
                }
            } else if (model.isEmpty()) {
                gone("is gone from the gateway (GET /api/kernels/" + remoteId + " answered 404)");
                return;
            } else if ("dead".equals(model.get().path("execution_state").asText())) {
                gone("is dead on the gateway (execution_state \"dead\")");
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

    @Override
    public void terminate(long graceMillis) {
        for (int attempt = 1; ; attempt++) {
            try {
                // The server sends shutdown_request, waits, then kills: our grace is its wait plus the call's own time.
                client.shutdown(remoteId, client.gateway().requestTimeout().plus(Duration.ofMillis(graceMillis)));
                gone("was deleted from the gateway");
                return;
            } catch (GatewayException e) {
                // Jupyter Server answers 500 to a DELETE while it is restarting the kernel (after its process died): retry.
                if (e.status() >= 500 && attempt < DELETE_ATTEMPTS) {
                    LOG.info("kernel {}: DELETE on {} failed ({}); trying again", remoteId, client.gateway().url(), e.status());
                    backOff(attempt);
                    continue;
                }
                LOG.warn("could not delete kernel {} from {}: {}", remoteId, client.gateway().url(), e.getMessage());
                gone("could not be deleted from the gateway: " + e.getMessage());
                return;
            }
        }
    }

    /** A pause between DELETE attempts (this runs on the blocking executor, never on the I/O loop). */
    private static void backOff(int attempt) {
        try {
            TimeUnit.MILLISECONDS.sleep(500L * attempt);
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

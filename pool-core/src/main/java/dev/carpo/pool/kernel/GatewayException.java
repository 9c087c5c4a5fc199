package dev.carpo.pool.kernel;

import java.net.URI;

/**
 * A Jupyter Server or Enterprise Gateway refused or failed a call: unreachable, a bad token
 * (401/403), an unknown kernelspec, a server error. The message names the URL, the call and the status.
 */
public class GatewayException extends KernelStartException {
    private final URI url;
    private final int status;

    public GatewayException(String message, URI url, int status, Throwable cause) {
        super(message, cause);
        this.url = url;
        this.status = status;
    }

    /** The URL called. */
    public URI url() {
        return url;
    }

    /** The HTTP status, or -1 when there was no answer. */
    public int status() {
        return status;
    }
}

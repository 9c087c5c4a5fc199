package dev.carpo.pool.protocol;

import org.zeromq.SocketType;

/**
 * The five Jupyter channels and the socket type a client uses for each.
 */
public enum Channel {
    SHELL("shell_port", SocketType.DEALER),
    CONTROL("control_port", SocketType.DEALER),
    IOPUB("iopub_port", SocketType.SUB),
    STDIN("stdin_port", SocketType.DEALER),
    HEARTBEAT("hb_port", SocketType.REQ);

    private final String portField;
    private final SocketType clientSocket;

    Channel(String portField, SocketType clientSocket) {
        this.portField = portField;
        this.clientSocket = clientSocket;
    }

    /** The connection-file field holding this channel's port, such as {@code shell_port}. */
    public String portField() {
        return portField;
    }

    /** The channel's name in messages that carry it, as a Jupyter Server's WebSocket does: {@code shell}, {@code iopub}, … */
    public String wireName() {
        return this == HEARTBEAT ? "hb" : name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The ZeroMQ socket type a client connects with. */
    public SocketType clientSocket() {
        return clientSocket;
    }
}

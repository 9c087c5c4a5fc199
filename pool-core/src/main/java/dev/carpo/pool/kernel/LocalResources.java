package dev.carpo.pool.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a local kernel holds on this host besides its process, given back once when it goes (or
 * when its launch fails part way): its reserved ports (tcp), its connection and stderr files, its
 * private directory (scratch, sockets) and its ipc relay. Filled in as the launch gets them.
 */
final class LocalResources {
    private final ConnectionInfo info;
    private final KernelTempDir kernelDir;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile Path connectionFile;
    private volatile Path stderrFile;
    private volatile IpcRelay relay;

    /** @param kernelDir the kernel's private directory, or {@code null} */
    LocalResources(ConnectionInfo info, KernelTempDir kernelDir) {
        this.info = info;
        this.kernelDir = kernelDir;
    }

    void files(Path connection, Path stderr) {
        this.connectionFile = connection;
        this.stderrFile = stderr;
    }

    void relay(IpcRelay r) {
        this.relay = r;
    }

    /** The relay to the kernel's ipc channels, or {@code null} for a kernel on tcp. */
    IpcRelay relay() {
        return relay;
    }

    /** Closes the relay, deletes the files and the private directory, releases the ports; idempotent. */
    void release() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        IpcRelay r = relay;
        if (r != null) {
            r.close();
        }
        deleteQuietly(connectionFile);
        deleteQuietly(stderrFile);
        if (kernelDir != null) {
            kernelDir.delete();
        }
        if ("tcp".equals(info.transport())) {
            PortReservations.release(info.ports().values());
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // Stays in the private runtime dir.
        }
    }
}

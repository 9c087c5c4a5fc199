/**
 * Jupyter kernels, local or on a Jupyter Server / Enterprise Gateway, separated as jupyter_client
 * separates them:
 * <ul>
 *   <li>kernelspecs: {@link dev.carpo.pool.kernel.KernelSpecs} discovers them on Jupyter's data
 *       path, {@link dev.carpo.pool.kernel.KernelSpec} reads one kernel.json;</li>
 *   <li>launch (the provisioner), chosen by {@link dev.carpo.pool.kernel.KernelOptions#gateway()}:
 *       locally ({@code LocalProvisioner}, {@code LocalKernelHost}), connection info on 127.0.0.1
 *       with five reserved ports and a fresh key, written 0600; the kernel started without a shell,
 *       in its own session, in a PID namespace of its own where bubblewrap works ({@code PidNamespace}:
 *       its descendants end with it, and it all ends when the JVM dies), else with {@code JPY_PARENT_PID}
 *       so it exits when the JVM dies; in a cgroup where one is writable ({@code KernelCgroup}: memory
 *       limit, process cap, every descendant killed at its end), its memory limit otherwise watched
 *       from /proc ({@code MemoryWatchdog}). Or on a
 *       gateway ({@code RemoteKernelHost} over {@link dev.carpo.pool.kernel.GatewayClient}):
 *       {@code POST /api/kernels}, liveness polled on {@code /api/kernels/{id}}, {@code DELETE} to end.
 *       Or, for a spec whose {@code metadata.kernel_provisioner.provisioner_name} was registered with
 *       {@link dev.carpo.pool.kernel.KernelRuntime#serveInProcess}, served in this JVM by an
 *       {@link dev.carpo.pool.kernel.InProcessKernel} ({@code InProcessKernelHost}) on reserved loopback
 *       ports, over ZeroMQ like a child process (tests use it for a scripted kernel);</li>
 *   <li>the sandbox ({@link dev.carpo.pool.kernel.KernelSandbox}, {@code KernelOptions.sandbox}): a local
 *       kernel under a bwrap of its own ({@code SandboxArgs}: a read-only system, a private /tmp, only the
 *       listed paths, no capabilities, a clean environment), started like any other through
 *       {@code PidNamespace}'s launcher thread. Without network it has its own network namespace, so
 *       its channels are Unix sockets ({@code "transport": "ipc"}, bound by ipykernel, IRkernel and xeus as
 *       {@code <ip>-<port>}) in its private directory ({@code KernelTempDir}, with its connection file
 *       and scratch directory). JeroMQ only emulates ipc over TCP, so an {@code IpcRelay} copies bytes
 *       (ZMTP is the same on any stream) between a loopback TCP listener per channel and the kernel's
 *       sockets: every relay in the JVM on one NIO thread ({@code RelayLoop}, {@code carpo-ipc-relay}),
 *       64 KiB a direction per connection, a side read only while its peer's buffer has room. The
 *       client side ({@code ZmqTransport}) is unchanged but for one rule: a connection closed before
 *       its ZMTP handshake (the relay closes it while the kernel's socket is not there yet) is not a
 *       refused frame.</li>
 *   <li>the manager: {@link dev.carpo.pool.kernel.Kernel}: ready, interrupt, death, shutdown;</li>
 *   <li>the client: the package-private {@code KernelConnection}: requests, outputs, readiness;
 *       each request in flight a {@code PendingRequest} ({@code PendingReply}, or {@code PendingExecution}
 *       with its output and listener calls);
 *       under it a {@code KernelTransport} moves the messages: five ZeroMQ sockets and the
 *       heartbeat ({@code ZmqTransport}), or one WebSocket through the server ({@code WebSocketTransport}).</li>
 * </ul>
 *
 * <h2>Completion</h2>
 * An execution completes when its {@code execute_reply} has arrived <em>and</em> iopub has reported
 * {@code idle} for its msg_id, in either order, so no output is ever missing from a result. A kernel
 * is ready when it has answered {@code kernel_info_request} and an iopub message has arrived (the
 * SUB socket has joined); until then the request is repeated, as jupyter_client's
 * {@code wait_for_ready} does, so the first execution's output is never lost.
 *
 * <h2>Death</h2>
 * A process exit, or a heartbeat silent for {@link dev.carpo.pool.kernel.KernelOptions#heartbeatTimeout()}
 * (for a remote kernel: a WebSocket that cannot be reopened once, the server's {@code restarting} or
 * {@code dead} status, or a 404 from {@code /api/kernels/{id}}), fails every request in flight on that kernel at once with a
 * {@link dev.carpo.pool.kernel.KernelDiedException} naming the kernel, its exit code and the tail
 * of its stderr. Stderr goes to a file in the runtime dir, so watching kernels costs no threads.
 *
 * <h2>Threads</h2>
 * A {@link dev.carpo.pool.kernel.KernelRuntime} has one I/O thread, a fixed callback pool that
 * completes futures and calls listeners (per kernel in order, never on the I/O thread), and a
 * cached pool used only for signals and process termination.
 */
package dev.carpo.pool.kernel;

/**
 * The kernel side of the Jupyter protocol, for carpo's built-in kernels: a
 * {@link dev.carpo.pool.server.KernelServer} binds the five channels of a connection file (shell and
 * control ROUTERs, iopub PUB, stdin ROUTER, heartbeat REP), checks every request's signature, and
 * answers with signed replies, busy/idle status and outputs around each request, as ipykernel does.
 * The language is an {@link dev.carpo.pool.server.Interpreter}.
 *
 * <h2>Threads</h2>
 * Shell requests run in order on the shell thread (an execution blocks it, as in any kernel);
 * control (interrupt, shutdown, kernel_info) has its own thread so it is answered while code runs;
 * the heartbeat echoes on a third. iopub is shared by shell and control, behind a lock.
 */
package dev.carpo.pool.server;

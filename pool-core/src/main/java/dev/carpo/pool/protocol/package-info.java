/**
 * The Jupyter messaging protocol (v5.3) over JeroMQ: {@link dev.carpo.pool.protocol.Message} and
 * {@link dev.carpo.pool.protocol.Header}, the wire format ({@link dev.carpo.pool.protocol.WireCodec}),
 * HMAC-SHA256 signing ({@link dev.carpo.pool.protocol.Signer}), the five channels, client sessions,
 * and the {@link dev.carpo.pool.protocol.IoLoop} that owns every socket.
 *
 * <h2>Threading model</h2>
 * ZeroMQ sockets are not thread-safe. Every socket lives on one {@code IoLoop} thread, which waits
 * on one NIO {@code Selector} holding each socket's {@code ZMQ_FD} (registered once, so a wake-up
 * costs work only for the sockets that woke); other threads hand it work through a queue and wake
 * it with a pipe registered in the same selector, so a request costs no polling delay. Timers
 * (heartbeats, deadlines) run on the same thread. Handlers on the loop only do bookkeeping; results
 * and user callbacks are handed to other executors (see {@code dev.carpo.pool.kernel}).
 *
 * <h2>Trust</h2>
 * Every received message's signature is verified, in constant time, over the exact bytes received;
 * a message with a bad signature or bad framing is dropped and counted, never acted on.
 */
package dev.carpo.pool.protocol;

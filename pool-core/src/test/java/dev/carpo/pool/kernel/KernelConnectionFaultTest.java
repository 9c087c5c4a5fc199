package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.Channel;
import dev.carpo.pool.protocol.IoLoop;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.Session;
import dev.carpo.pool.protocol.Signer;
import dev.carpo.pool.protocol.WireCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * Fault injection a real kernel cannot give: a fake kernel made of bare JeroMQ sockets that sends
 * forged, garbled and unhandled messages, and idle before reply. Everything else is tested on ipykernel.
 */
class KernelConnectionFaultTest {
    private final ZContext zmq = new ZContext();
    private final Map<Channel, ZMQ.Socket> kernelSide = new EnumMap<>(Channel.class);
    private final Map<Channel, Integer> ports = new EnumMap<>(Channel.class);
    private final Session kernelSession = new Session("kernel");
    private IoLoop loop;
    private ExecutorService callbacks;
    private WireCodec good;
    private WireCodec forged;
    private KernelConnection connection;

    @BeforeEach
    void bindFakeKernel() {
        for (Channel c : Channel.values()) {
            SocketType type = switch (c) {
                case IOPUB -> SocketType.PUB;
                case HEARTBEAT -> SocketType.REP;
                default -> SocketType.ROUTER;
            };
            ZMQ.Socket s = zmq.createSocket(type);
            s.setLinger(0);
            ports.put(c, s.bindToRandomPort("tcp://127.0.0.1"));
            kernelSide.put(c, s);
        }
        ConnectionInfo info = ConnectionInfo.loopback(ports, "fake");
        good = new WireCodec(info.signer());
        forged = new WireCodec(new Signer("attacker".getBytes(StandardCharsets.UTF_8)));
        loop = new IoLoop("fault-test-io");
        callbacks = Executors.newFixedThreadPool(2);
        KernelOptions options = KernelOptions.builder().heartbeatTimeout(Duration.ofMinutes(5)).requestTimeout(Duration.ofSeconds(3)).build();
        Session session = new Session("test");
        connection = new KernelConnection("fake-1", new ZmqTransport(info, loop, session, options), session, loop, callbacks,
                options, why -> { });
    }

    @AfterEach
    void close() {
        connection.die(new KernelDiedException("fake-1", "test over", null, null));
        loop.close();
        callbacks.shutdownNow();
        zmq.close();
    }

    /** The next request on a ROUTER channel, with its routing identity. */
    private Message receive(Channel channel) throws Exception {
        ZMQ.Socket s = kernelSide.get(channel);
        s.setReceiveTimeOut(20_000);
        List<byte[]> frames = new ArrayList<>();
        byte[] first = s.recv(0);
        assertThat(first).as("a request on %s within 20 s", channel).isNotNull();
        frames.add(first);
        while (s.hasReceiveMore()) {
            frames.add(s.recv(0));
        }
        return good.decode(frames);
    }

    /** The next request on shell that is not a leftover readiness probe. */
    private Message receiveSkippingProbes() throws Exception {
        Message m = receive(Channel.SHELL);
        while (m.type().equals("kernel_info_request")) {
            m = receive(Channel.SHELL);
        }
        return m;
    }

    private void send(Channel channel, WireCodec codec, Message to, String type, ObjectNode content) {
        Message m = new Message(channel == Channel.IOPUB ? List.of() : to.identities(), kernelSession.header(type),
                to.header(), null, content, null);
        sendAll(kernelSide.get(channel), codec.encode(m));
    }

    private static void sendAll(ZMQ.Socket socket, List<byte[]> frames) {
        for (int i = 0; i < frames.size(); i++) {
            socket.send(frames.get(i), i < frames.size() - 1 ? ZMQ.SNDMORE : 0);
        }
    }

    private static ObjectNode json(String s) throws Exception {
        return (ObjectNode) WireCodec.mapper().readTree(s);
    }

    private void becomeReady() throws Exception {
        CompletableFuture<ObjectNode> ready = connection.connect();
        Message probe = receive(Channel.SHELL);
        assertThat(probe.type()).isEqualTo("kernel_info_request");
        // A forged reply and a garbled one first: neither may make the client ready.
        send(Channel.SHELL, forged, probe, "kernel_info_reply", json("{\"status\":\"ok\",\"implementation\":\"forged\"}"));
        List<byte[]> garbled = List.of(probe.identities().get(0), "not".getBytes(), "a message".getBytes());
        sendAll(kernelSide.get(Channel.SHELL), garbled);
        // Then answer every probe properly until the client's SUB socket has joined.
        ObjectNode info = json("{\"status\":\"ok\",\"implementation\":\"fake\",\"protocol_version\":\"5.3\"}");
        while (true) {
            send(Channel.IOPUB, good, probe, "status", json("{\"execution_state\":\"busy\"}"));
            send(Channel.SHELL, good, probe, "kernel_info_reply", info);
            send(Channel.IOPUB, good, probe, "status", json("{\"execution_state\":\"idle\"}"));
            try {
                assertThat(ready.get(1500, TimeUnit.MILLISECONDS).path("implementation").asText()).isEqualTo("fake");
                return;
            } catch (java.util.concurrent.TimeoutException notYet) {
                probe = receive(Channel.SHELL);
            }
        }
    }

    @Test
    void notReadyUntilStdinHasConnectedSoNoInputRequestIsDropped() throws Exception {
        // The kernel's stdin ROUTER is not there yet while shell and iopub already answer.
        ZMQ.Socket lateStdin = kernelSide.remove(Channel.STDIN);
        lateStdin.close();
        CompletableFuture<ObjectNode> ready = connection.connect();
        ObjectNode info = json("{\"status\":\"ok\",\"implementation\":\"fake\",\"protocol_version\":\"5.3\"}");
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            Message probe = receive(Channel.SHELL);
            send(Channel.IOPUB, good, probe, "status", json("{\"execution_state\":\"idle\"}"));
            send(Channel.SHELL, good, probe, "kernel_info_reply", info);
            return connection.readiness().contains("kernel_info_reply received; iopub delivering; stdin not connected");
        });
        assertThat(ready).isNotDone();

        ZMQ.Socket stdin = zmq.createSocket(SocketType.ROUTER);
        stdin.setLinger(0);
        stdin.bind("tcp://127.0.0.1:" + ports.get(Channel.STDIN));
        kernelSide.put(Channel.STDIN, stdin);
        assertThat(ready.get(20, TimeUnit.SECONDS).path("implementation").asText()).isEqualTo("fake");

        // Right away, an input_request reaches the client and its answer comes back.
        CompletableFuture<KernelExecution> run = connection.execute(ExecuteRequest.builder("input()").input((prompt, password) -> "Ada").build());
        Message exec = receiveSkippingProbes();
        send(Channel.STDIN, good, exec, "input_request", json("{\"prompt\":\"who? \",\"password\":false}"));
        Message answer = receive(Channel.STDIN);
        assertThat(answer.type()).isEqualTo("input_reply");
        assertThat(answer.content().path("value").asText()).isEqualTo("Ada");
        send(Channel.SHELL, good, exec, "execute_reply", json("{\"status\":\"ok\",\"execution_count\":1}"));
        send(Channel.IOPUB, good, exec, "status", json("{\"execution_state\":\"idle\"}"));
        assertThat(run.get(20, TimeUnit.SECONDS).status()).isEqualTo(ReplyStatus.OK);
    }

    @Test
    void forgedAndGarbledMessagesAreDroppedCountedAndNeverActedOn() throws Exception {
        becomeReady();
        assertThat(connection.rejectedMessages()).isGreaterThanOrEqualTo(2);
        long before = connection.rejectedMessages();

        CountDownLatch sawAfterIdle = new CountDownLatch(1);
        List<String> streamed = new CopyOnWriteArrayList<>();
        CompletableFuture<KernelExecution> run = connection.execute(ExecuteRequest.builder("x").listener(new OutputListener() {
            @Override
            public void onStream(String name, String text) {
                streamed.add(text);
                if (text.equals("after idle\n")) {
                    sawAfterIdle.countDown();
                }
            }
        }).build());
        Message exec = receiveSkippingProbes();
        assertThat(exec.type()).isEqualTo("execute_request");
        assertThat(exec.content().path("allow_stdin").asBoolean()).isFalse();

        send(Channel.IOPUB, good, exec, "status", json("{\"execution_state\":\"busy\"}"));
        send(Channel.IOPUB, forged, exec, "stream", json("{\"name\":\"stdout\",\"text\":\"EVIL\\n\"}"));
        send(Channel.IOPUB, good, exec, "comm_open", json("{\"comm_id\":\"c1\",\"target_name\":\"jupyter.widget\",\"data\":{}}"));
        send(Channel.IOPUB, good, exec, "debug_event", json("{\"event\":\"stopped\"}"));
        send(Channel.IOPUB, good, exec, "stream", json("{\"name\":\"stdout\",\"text\":\"good\\n\"}"));
        send(Channel.SHELL, forged, exec, "execute_reply", json("{\"status\":\"error\",\"ename\":\"Forged\",\"evalue\":\"\",\"traceback\":[]}"));
        // Idle before the reply: the execution is not complete until the reply comes too.
        send(Channel.IOPUB, good, exec, "status", json("{\"execution_state\":\"idle\"}"));
        send(Channel.IOPUB, good, exec, "stream", json("{\"name\":\"stdout\",\"text\":\"after idle\\n\"}"));
        assertThat(sawAfterIdle.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(run).isNotDone();

        send(Channel.SHELL, good, exec, "execute_reply", json("{\"status\":\"ok\",\"execution_count\":7,\"user_expressions\":{}}"));
        KernelExecution r = run.get(10, TimeUnit.SECONDS);

        assertThat(r.status()).isEqualTo(ReplyStatus.OK);
        assertThat(r.executionCount()).isEqualTo(7);
        assertThat(r.stdout()).isEqualTo("good\nafter idle\n");
        assertThat(r.error()).isNull();
        assertThat(streamed).containsExactly("good\n", "after idle\n");
        assertThat(connection.rejectedMessages()).isEqualTo(before + 2);
    }

    @Test
    void deathFailsEveryRequestInFlightAtOnce() throws Exception {
        becomeReady();
        CompletableFuture<KernelExecution> run = connection.execute(ExecuteRequest.of("x"));
        CompletableFuture<ObjectNode> info = connection.request(Channel.SHELL, "kernel_info_request", json("{}"));
        receiveSkippingProbes();
        connection.die(new KernelDiedException("fake-1", "exited unexpectedly", 137, "Killed"));
        for (CompletableFuture<?> f : List.of(run, info)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOf(KernelDiedException.class)
                    .hasMessageContaining("kernel fake-1 exited unexpectedly (exit code 137, signal 9)")
                    .hasMessageContaining("Killed");
        }
        // And anything sent afterwards fails at once rather than waiting.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> connection.execute(ExecuteRequest.of("y")).get(10, TimeUnit.SECONDS))
                .cause().isInstanceOf(KernelDiedException.class);
    }

    @Test
    void aLoopThatStopsFailsEveryRequestInFlightAndLaterOnes() throws Exception {
        becomeReady();
        CompletableFuture<KernelExecution> run = connection.execute(ExecuteRequest.of("x"));
        receiveSkippingProbes();
        loop.close(); // the kernel runtime closed (or its loop crashed) under a running request

        for (CompletableFuture<?> f : List.of(run, connection.execute(ExecuteRequest.of("later")))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOf(KernelDiedException.class)
                    .hasMessageContaining("kernel fake-1 lost its I/O loop");
        }
    }

    @Test
    void aRequestWithoutReplyFailsAfterTheRequestTimeout() throws Exception {
        becomeReady();
        CompletableFuture<ObjectNode> unanswered = connection.request(Channel.SHELL, "complete_request",
                json("{\"code\": \"pri\", \"cursor_pos\": 3}"));
        receiveSkippingProbes(); // the fake kernel reads it and never answers
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> unanswered.get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(RequestTimeoutException.class)
                .hasMessageContaining("complete_request")
                .hasMessageContaining("to kernel fake-1 got no reply within 3000 ms");
    }
}

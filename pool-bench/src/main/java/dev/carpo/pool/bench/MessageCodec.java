package dev.carpo.pool.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carpo.pool.protocol.Message;
import dev.carpo.pool.protocol.MessageRejectedException;
import dev.carpo.pool.protocol.Session;
import dev.carpo.pool.protocol.Signer;
import dev.carpo.pool.protocol.WireCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Pure Java: one execute_request encoded and signed; one execute_reply checked and decoded. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class MessageCodec {
    private WireCodec codec;
    private Message request;
    private List<byte[]> replyFrames;

    @Setup
    public void prepare() {
        codec = new WireCodec(new Signer("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII)));
        Session session = new Session("bench");
        ObjectNode content = WireCodec.mapper().createObjectNode();
        content.put("code", "1").put("silent", false).put("store_history", true).put("allow_stdin", false)
                .put("stop_on_error", false).putObject("user_expressions");
        request = session.request("execute_request", content);
        ObjectNode reply = WireCodec.mapper().createObjectNode();
        reply.put("status", "ok").put("execution_count", 7).putObject("user_expressions");
        reply.putArray("payload");
        replyFrames = codec.encode(session.reply(request, "execute_reply", reply));
    }

    @Benchmark
    public List<byte[]> encodeAndSign() {
        return codec.encode(request);
    }

    @Benchmark
    public Message verifyAndDecode() throws MessageRejectedException {
        return codec.decode(replyFrames);
    }
}

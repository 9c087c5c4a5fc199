package dev.carpo.pool.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What an execution keeps of its output, whatever is sent: bounded, head and tail, the cut counted. */
class OutputBufferTest {
    static final String MARKER = "\n\\[carpo: [0-9,]+ bytes of output dropped]\n";

    private static DisplayOutput html(String id, String html) {
        return new DisplayOutput("display_data", Map.of("text/html", TextNode.valueOf(html), "text/plain", TextNode.valueOf("<HTML>")),
                JsonNodeFactory.instance.objectNode(), id, null);
    }

    private static long kept(OutputBuffer b, String stream) {
        return OutputBuffer.utf8Length(b.text(stream).replaceAll(MARKER, ""));
    }

    @Test
    void oneHugeChunkKeepsItsStartAndItsEnd() {
        OutputBuffer b = new OutputBuffer(2048);
        String text = "a".repeat(900) + "m".repeat(10_000) + "z".repeat(900);
        String shown = b.stream("stdout", text);
        assertThat(shown).startsWith("a".repeat(900)).hasSize(1024 - OutputBuffer.ITEM_OVERHEAD);
        b.finish();
        String kept = b.text("stdout");
        assertThat(kept).startsWith(shown + "\n[carpo: ").endsWith("m".repeat(60) + "z".repeat(900));
        assertThat(kept(b, "stdout") + b.droppedBytes()).isEqualTo(text.length());
        assertThat(kept(b, "stdout")).isEqualTo(2048 - 2 * OutputBuffer.ITEM_OVERHEAD);
        assertThat(b.truncated()).isTrue();
    }

    @Test
    void manySmallChunksKeepTheFirstAndTheLastWithinTheLimit() {
        OutputBuffer b = new OutputBuffer(4096);
        long total = 0;
        for (int i = 0; i < 100_000; i++) {
            String line = i + "\n";
            total += line.length();
            b.stream(i % 2 == 0 ? "stdout" : "stderr", line);
        }
        b.finish();
        assertThat(b.text("stdout")).startsWith("0\n2\n4\n").endsWith("99998\n");
        assertThat(b.text("stderr")).startsWith("1\n3\n5\n").endsWith("99999\n");
        long kept = kept(b, "stdout") + kept(b, "stderr");
        assertThat(kept + (long) b.items() * OutputBuffer.ITEM_OVERHEAD).isLessThanOrEqualTo(4096);
        assertThat(kept + b.droppedBytes()).isEqualTo(total);
    }

    @Test
    void aFloodOfTinyOrEmptyMessagesKeepsFewItems() {
        OutputBuffer b = new OutputBuffer(1 << 20);
        for (int i = 0; i < 1_000_000; i++) {
            b.stream("stdout", "");
            b.stream("stdout", "x");
        }
        assertThat(b.items()).isLessThanOrEqualTo(2);
        OutputBuffer alternating = new OutputBuffer(1 << 20);
        for (int i = 0; i < 1_000_000; i++) {
            alternating.stream(i % 2 == 0 ? "stdout" : "stderr", "x");
        }
        // Nothing to merge: each item costs its overhead, so the count stays bounded by the limit, not by the flood.
        assertThat(alternating.items()).isLessThanOrEqualTo(2 * (1 << 20) / OutputBuffer.ITEM_OVERHEAD);
        alternating.finish();
        assertThat(alternating.items()).isLessThanOrEqualTo((1 << 20) / OutputBuffer.ITEM_OVERHEAD);
        assertThat(alternating.truncated()).isTrue();
    }

    @Test
    void multiByteTextIsCountedInUtf8AndNeverSplitInsideACharacter() {
        OutputBuffer b = new OutputBuffer(1024 + 2 * OutputBuffer.ITEM_OVERHEAD);
        String text = "😀".repeat(1000); // 4 bytes each, a surrogate pair in Java
        b.stream("stdout", text);
        b.finish();
        String kept = b.text("stdout").replaceAll(MARKER, "");
        assertThat(kept.codePoints().filter(c -> c == 0x1F600).count() * 4).isEqualTo(1024);
        assertThat(kept.chars().filter(c -> Character.isSurrogate((char) c)).count() % 2).isZero();
        assertThat(b.droppedBytes()).isEqualTo(4000 - 1024);
    }

    @Test
    void updatesCannotGrowAnOutputPastTheLimit() {
        OutputBuffer b = new OutputBuffer(10_000);
        assertThat(b.output(html("d", "<p>small</p>"), 200)).isTrue();
        for (int i = 0; i < 50; i++) {
            Map<String, JsonNode> data = Map.of("text/html", TextNode.valueOf("x".repeat(100_000)), "text/plain", TextNode.valueOf("<HTML>"));
            List<DisplayOutput> updated = b.update("d", data, 100_200);
            assertThat(updated).allMatch(o -> !o.data().containsKey("text/html"));
        }
        assertThat(b.outputs()).hasSize(1);
        assertThat(b.outputs().get(0).text("text/plain")).isEqualTo("<HTML>");
        assertThat(b.truncated()).isTrue();
    }

    @Test
    void richOutputsPastTheHeadLandInABoundedTail() {
        OutputBuffer b = new OutputBuffer(4_000);
        for (int i = 0; i < 1_000; i++) {
            b.output(html(null, "<p>" + i + "</p>"), 100);
        }
        b.finish();
        List<DisplayOutput> kept = b.outputs();
        assertThat(kept.size() * (100 + OutputBuffer.ITEM_OVERHEAD)).isLessThanOrEqualTo(4_000);
        assertThat(kept.get(0).text("text/html")).isEqualTo("<p>0</p>");
        assertThat(kept.get(kept.size() - 1).text("text/html")).isEqualTo("<p>999</p>");
        assertThat(b.droppedBytes()).isEqualTo(100L * (1_000 - kept.size()));
    }

    @Test
    void clearOutputForgetsWhatWasKeptButNotWhatWasDropped() {
        OutputBuffer b = new OutputBuffer(1_024);
        b.stream("stdout", "x".repeat(5_000));
        b.clear();
        assertThat(b.stream("stdout", "fresh\n")).isEqualTo("fresh\n");
        b.finish();
        assertThat(b.text("stdout")).isEqualTo("fresh\n");
        assertThat(b.truncated()).isTrue();
    }
}

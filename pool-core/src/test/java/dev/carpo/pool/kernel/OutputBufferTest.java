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
    private static DisplayOutput html(String id, String html) {
        return new DisplayOutput("display_data", Map.of("text/html", TextNode.valueOf(html), "text/plain", TextNode.valueOf("<HTML>")),
                JsonNodeFactory.instance.objectNode(), id, null);
    }

    @Test
    void oneHugeChunkKeepsItsStartAndItsEnd() {
        OutputBuffer b = new OutputBuffer(1000);
        String text = "a".repeat(400) + "m".repeat(10_000) + "z".repeat(400);
        assertThat(b.stream("stdout", text)).isEqualTo("a".repeat(400) + "m".repeat(100));
        String kept = b.text("stdout");
        assertThat(kept).startsWith("a".repeat(400) + "m".repeat(100) + "\n[carpo: 9,800 bytes of output dropped]\n")
                .endsWith("m".repeat(100) + "z".repeat(400));
        assertThat(b.droppedBytes()).isEqualTo(9_800);
        assertThat(b.truncated()).isTrue();
    }

    @Test
    void manySmallChunksKeepTheFirstAndTheLastWithinTheLimit() {
        OutputBuffer b = new OutputBuffer(100);
        long total = 0;
        for (int i = 0; i < 10_000; i++) {
            String line = i + "\n";
            total += line.length();
            b.stream(i % 2 == 0 ? "stdout" : "stderr", line);
        }
        String out = b.text("stdout");
        String err = b.text("stderr");
        assertThat(out).startsWith("0\n2\n4\n").endsWith("9998\n");
        assertThat(err).startsWith("1\n3\n5\n").endsWith("9999\n");
        String marker = "\n\\[carpo: [0-9,]+ bytes of output dropped]\n";
        long kept = out.replaceAll(marker, "").length() + err.replaceAll(marker, "").length();
        assertThat(kept).isLessThanOrEqualTo(100);
        assertThat(kept + b.droppedBytes()).isEqualTo(total);
    }

    @Test
    void multiByteTextIsCountedInUtf8AndNeverSplitInsideACharacter() {
        OutputBuffer b = new OutputBuffer(40);
        String text = "😀".repeat(100); // 4 bytes each, a surrogate pair in Java
        b.stream("stdout", text);
        String kept = b.text("stdout");
        assertThat(kept.codePoints().filter(c -> c == 0x1F600).count() * 4).isEqualTo(40);
        assertThat(kept.chars().filter(c -> Character.isSurrogate((char) c)).count() % 2).isZero();
        assertThat(b.droppedBytes()).isEqualTo(400 - 40);
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
        OutputBuffer b = new OutputBuffer(2_000);
        for (int i = 0; i < 1_000; i++) {
            b.output(html(null, "<p>" + i + "</p>"), 100);
        }
        List<DisplayOutput> kept = b.outputs();
        assertThat(kept).hasSize(20);
        assertThat(kept.get(0).text("text/html")).isEqualTo("<p>0</p>");
        assertThat(kept.get(kept.size() - 1).text("text/html")).isEqualTo("<p>999</p>");
        assertThat(b.droppedBytes()).isEqualTo(98_000);
    }

    @Test
    void clearOutputForgetsWhatWasKeptButNotWhatWasDropped() {
        OutputBuffer b = new OutputBuffer(1_000);
        b.stream("stdout", "x".repeat(5_000));
        b.clear();
        assertThat(b.stream("stdout", "fresh\n")).isEqualTo("fresh\n");
        assertThat(b.text("stdout")).isEqualTo("fresh\n");
        assertThat(b.truncated()).isTrue();
    }
}

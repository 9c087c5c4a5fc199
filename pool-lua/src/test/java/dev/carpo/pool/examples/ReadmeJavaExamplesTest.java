package dev.carpo.pool.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.carpo.pool.examples.JavaExcerpts.Block;
import dev.carpo.pool.examples.JavaExcerpts.Match;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Every {@code ```java} block of README.md is one of the programs under examples/java (which the
 * build compiles and {@link JavaExamplesTest} runs) or an exact excerpt of one, and the paragraph
 * just above it names that file: so no snippet in the README can stop compiling or working unnoticed.
 */
class ReadmeJavaExamplesTest {
    @Test
    void everyJavaBlockIsAnExampleOrAnExactExcerptOfOneAndNamesIt() throws Exception {
        List<String> readme = ExampleFiles.readme();
        Map<String, List<String>> examples = ExampleFiles.examples();
        List<Block> blocks = JavaExcerpts.javaBlocks(readme);
        assertThat(blocks).as("```java blocks in " + ExampleFiles.README).isNotEmpty();
        List<String> problems = new ArrayList<>();
        for (Block block : blocks) {
            Optional<Match> match = JavaExcerpts.find(block, examples);
            if (match.isEmpty()) {
                problems.add(JavaExcerpts.explainMismatch("README.md", block, examples));
                continue;
            }
            String above = paragraphAbove(readme, block);
            if (!above.contains(match.get().file())) {
                problems.add("README.md:" + block.line() + ": this ```java block is from " + match.get().file()
                        + " (its line " + (match.get().start() + 1) + " on), but the paragraph above it does not name that file: `"
                        + above + "`");
            }
        }
        assertThat(problems).as("README.md's Java blocks against examples/java").isEmpty();
    }

    @Test
    void aChangedLineIsReportedWithItsReadmeLineAndTheClosestFile() {
        Map<String, List<String>> files = new LinkedHashMap<>();
        files.put("examples/java/A.java", List.of("class A {", "    void a() {", "        int x = 1;", "        int y = 2;", "    }", "}"));
        files.put("examples/java/B.java", List.of("class B {", "}"));
        List<String> readme = List.of("text", "```java", "int x = 1;", "int y = 3;", "```");
        Block block = JavaExcerpts.javaBlocks(readme).get(0);

        assertThat(JavaExcerpts.find(block, files)).isEmpty();
        assertThat(JavaExcerpts.explainMismatch("README.md", block, files))
                .startsWith("README.md:2: this ```java block (2 lines) is neither")
                .contains("closest: examples/java/A.java, which it leaves at README.md:4 `int y = 3;`, where its line 4 has `int y = 2;`");
    }

    @Test
    void anExcerptMayBeDedentedAndSitInAListItemButMustKeepItsRelativeIndentation() {
        Map<String, List<String>> files = Map.of("A.java", List.of("class A {", "    void a() {", "        run(1,", "                2);", "    }", "}"));
        Block listItem = JavaExcerpts.javaBlocks(List.of("- item:", "  ```java", "  run(1,", "          2);", "  ```")).get(0);
        Block reflowed = JavaExcerpts.javaBlocks(List.of("```java", "run(1,", "    2);", "```")).get(0);
        Block whole = new Block(1, files.get("A.java"));

        assertThat(JavaExcerpts.find(listItem, files)).contains(new Match("A.java", 2));
        assertThat(JavaExcerpts.find(whole, files)).contains(new Match("A.java", 0));
        assertThat(JavaExcerpts.find(reflowed, files)).isEmpty();
        assertThat(JavaExcerpts.explainMismatch("R.md", reflowed, files)).endsWith("closest: A.java, whose lines 3-4 have the same text but other indentation");
    }

    @Test
    void onlyJavaBlocksAreTakenAndAnUnclosedFenceIsAnError() {
        List<Block> blocks = JavaExcerpts.javaBlocks(List.of("```lua", "x = 1", "```", "```java", "int x;", "```", "```", "```java", "```"));
        assertThat(blocks).containsExactly(new Block(4, List.of("int x;")));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> JavaExcerpts.javaBlocks(List.of("a", "```java", "int x;")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("line 2: a ``` fence that is never closed");
    }

    /** The lines just before the block's fence, up to a blank line (or another block's closing fence), joined. */
    private static String paragraphAbove(List<String> readme, Block block) {
        int i = block.line() - 2;
        while (i >= 0 && readme.get(i).isBlank()) {
            i--;
        }
        StringBuilder text = new StringBuilder();
        for (; i >= 0 && !readme.get(i).isBlank() && !readme.get(i).strip().startsWith("```"); i--) {
            text.insert(0, readme.get(i).strip() + " ");
        }
        return text.toString().strip();
    }
}

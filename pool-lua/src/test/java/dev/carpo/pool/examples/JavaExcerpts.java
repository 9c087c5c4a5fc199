package dev.carpo.pool.examples;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Finds the {@code ```java} blocks of a Markdown text and tells whether each is a whole source file
 * or an exact excerpt of one: the same contiguous lines, the same indentation once each side's
 * common leading indent is removed (a block may sit in a list item; an excerpt may start inside a
 * method). Only trailing whitespace is ignored.
 */
final class JavaExcerpts {
    private JavaExcerpts() {
    }

    /** A fenced block: {@code line} is the 1-based line of its opening fence. */
    record Block(int line, List<String> lines) {
    }

    /** Where a block was found: the file (a key of the map given) and the 0-based index of its first line there. */
    record Match(String file, int start) {
    }

    static List<Block> javaBlocks(List<String> markdown) {
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < markdown.size(); i++) {
            String fence = markdown.get(i).strip();
            if (fence.startsWith("```")) {
                int end = i + 1;
                while (end < markdown.size() && !markdown.get(end).strip().equals("```")) {
                    end++;
                }
                if (end == markdown.size()) {
                    throw new IllegalArgumentException("line " + (i + 1) + ": a ``` fence that is never closed");
                }
                if (fence.equals("```java")) {
                    blocks.add(new Block(i + 1, List.copyOf(markdown.subList(i + 1, end))));
                }
                i = end;
            }
        }
        return blocks;
    }

    /** The first file, in the map's order, that is the block or holds it as an excerpt. */
    static Optional<Match> find(Block block, Map<String, List<String>> files) {
        List<String> wanted = dedent(block.lines());
        for (Map.Entry<String, List<String>> file : files.entrySet()) {
            List<String> lines = file.getValue();
            for (int start = 0; start + wanted.size() <= lines.size(); start++) {
                if (dedent(lines.subList(start, start + wanted.size())).equals(wanted)) {
                    return Optional.of(new Match(file.getKey(), start));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Why a block matches no file, for a block {@link #find} did not find: the closest file (the
     * one sharing most of its lines, ignoring indentation) and the first line where they part.
     */
    static String explainMismatch(String markdownName, Block block, Map<String, List<String>> files) {
        String head = markdownName + ":" + block.line() + ": this ```java block (" + block.lines().size()
                + " lines) is neither a file under examples/java nor an exact excerpt of one";
        if (files.isEmpty()) {
            return head + "; there are no example files";
        }
        List<String> wanted = block.lines().stream().map(String::strip).toList();
        String closest = files.entrySet().stream()
                .max(Comparator.comparingLong(f -> shared(wanted, f.getValue())))
                .orElseThrow().getKey();
        List<String> lines = files.get(closest).stream().map(String::strip).toList();
        int bestStart = 0;
        int bestEqual = -1;
        for (int start = 0; start < lines.size(); start++) {
            int equal = 0;
            for (int i = 0; i < wanted.size() && start + i < lines.size(); i++) {
                if (wanted.get(i).equals(lines.get(start + i))) {
                    equal++;
                }
            }
            if (equal > bestEqual) {
                bestEqual = equal;
                bestStart = start;
            }
        }
        for (int i = 0; i < wanted.size(); i++) {
            int at = bestStart + i;
            String theirs = at < lines.size() ? "its line " + (at + 1) + " has `" + lines.get(at) + "`" : "it has ended";
            if (at >= lines.size() || !wanted.get(i).equals(lines.get(at))) {
                return head + "; closest: " + closest + ", which it leaves at " + markdownName + ":" + (block.line() + 1 + i)
                        + " `" + wanted.get(i) + "`, where " + theirs;
            }
        }
        return head + "; closest: " + closest + ", whose lines " + (bestStart + 1) + "-" + (bestStart + wanted.size())
                + " have the same text but other indentation";
    }

    private static long shared(List<String> wanted, List<String> file) {
        Set<String> theirs = file.stream().map(String::strip).collect(Collectors.toSet());
        return wanted.stream().filter(l -> !l.isEmpty() && theirs.contains(l)).count();
    }

    /** Trailing whitespace dropped, and the indent common to the non-blank lines. */
    static List<String> dedent(List<String> lines) {
        List<String> stripped = lines.stream().map(String::stripTrailing).toList();
        int indent = stripped.stream().filter(l -> !l.isEmpty())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return stripped.stream().map(l -> l.isEmpty() ? l : l.substring(indent)).toList();
    }
}

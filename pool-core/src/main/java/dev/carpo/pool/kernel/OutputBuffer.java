package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one execution keeps of its output, within a byte limit: everything until half the limit is
 * used (the head), then the most recent output within the other half (the tail), as people keep logs;
 * the middle is dropped and counted. Whatever a kernel sends, this holds at most about the limit
 * (UTF-8 bytes of text, wire bytes of rich data). Loop-thread only.
 */
final class OutputBuffer {
    /**
     * What one kept item costs beyond its bytes (its object, its string, the list entry): without it a
     * flood of one-character (or empty) messages would keep millions of items within a "1 MiB" limit.
     */
    static final int ITEM_OVERHEAD = 64;

    /** One run of stream text (consecutive chunks of one stream are merged) or one rich output, in arrival order. */
    private static final class Item {
        final String stream; // "stdout"/"stderr", or null for a rich output
        final StringBuilder text;
        DisplayOutput output;
        long bytes;
        final boolean inHead;

        Item(String stream, String text, DisplayOutput output, long bytes, boolean inHead) {
            this.stream = stream;
            this.text = text == null ? null : new StringBuilder(text);
            this.output = output;
            this.bytes = bytes;
            this.inHead = inHead;
        }
    }

    private final long headCap;
    private final long tailCap;
    private final List<Item> head = new ArrayList<>();
    private final Deque<Item> tail = new ArrayDeque<>();
    private final Map<String, Long> droppedByStream = new HashMap<>();
    private long headBytes;
    private long tailBytes;
    private long dropped;
    private boolean inTail;

    OutputBuffer(long limit) {
        this.headCap = limit / 2;
        this.tailCap = limit - headCap;
    }

    /** How many items are kept (each costs {@link #ITEM_OVERHEAD} beyond its bytes). */
    int items() {
        return head.size() + tail.size();
    }

    /** Whether anything was dropped. */
    boolean truncated() {
        return dropped > 0;
    }

    long droppedBytes() {
        return dropped;
    }

    /** Counts output that never arrived whole (a refused or unreadable message) as dropped. */
    void lost(long bytes) {
        dropped += Math.max(1, bytes);
    }

    private long headUsed() {
        return headBytes + (long) head.size() * ITEM_OVERHEAD;
    }

    private long tailUsed() {
        return tailBytes + (long) tail.size() * ITEM_OVERHEAD;
    }

    /**
     * Adds stream text; returns what of it went into the head (all of it, its start when it fills the
     * head, or null), which may be shown as it streams. The rest goes to the tail.
     */
    String stream(String name, String text) {
        if (text.isEmpty()) {
            return null;
        }
        long n = utf8Length(text);
        String shown = null;
        if (!inTail) {
            Item last = head.isEmpty() ? null : head.get(head.size() - 1);
            boolean merge = last != null && name.equals(last.stream);
            long room = headCap - headUsed() - (merge ? 0 : ITEM_OVERHEAD);
            shown = n <= room ? text : room > 0 ? firstBytes(text, room) : "";
            if (!shown.isEmpty()) {
                long h = shown == text ? n : utf8Length(shown);
                if (merge) {
                    last.text.append(shown);
                    last.bytes += h;
                } else {
                    head.add(new Item(name, shown, null, h, true));
                }
                headBytes += h;
            }
            if (shown.length() == text.length()) {
                return text;
            }
            inTail = true;
            text = text.substring(shown.length());
            n = utf8Length(text);
            shown = shown.isEmpty() ? null : shown;
        }
        if (n > tailCap) {
            String kept = lastBytes(text, tailCap);
            drop(name, n - utf8Length(kept));
            text = kept;
            n = utf8Length(kept);
        }
        Item last = tail.peekLast();
        if (last != null && name.equals(last.stream)) {
            last.text.append(text);
            last.bytes += n;
        } else {
            tail.addLast(new Item(name, text, null, n, false));
        }
        tailBytes += n;
        compactPast(2 * tailCap);
        return shown;
    }

    /** Adds a rich output of {@code bytes} on the wire; returns true when it is in the head. */
    boolean output(DisplayOutput output, long bytes) {
        long n = Math.max(1, bytes);
        if (!inTail && headUsed() + n + ITEM_OVERHEAD <= headCap) {
            head.add(new Item(null, null, output, n, true));
            headBytes += n;
            return true;
        }
        inTail = true;
        if (n > tailCap - ITEM_OVERHEAD) {
            DisplayOutput cut = textOnly(output, tailCap - ITEM_OVERHEAD);
            long kept = cut == null ? 0 : Math.min(n, textBytes(cut));
            drop(null, n - kept);
            if (cut == null) {
                return false;
            }
            output = cut;
            n = Math.max(1, kept);
        }
        tail.addLast(new Item(null, null, output, n, false));
        tailBytes += n;
        compactPast(2 * tailCap);
        return false;
    }

    /**
     * The tail grows to twice its share before it is cut back to it, so that cutting costs O(1) a
     * byte however the output comes; {@link #finish} cuts it to its share for good.
     */
    private void compactPast(long bound) {
        if (tailUsed() > bound) {
            compactTo(tailCap);
        }
    }

    /** Cuts the tail to its share; call once the execution is complete, before reading what is kept. */
    void finish() {
        compactTo(tailCap);
    }

    /**
     * Replaces the data of every kept output with this display id; returns the outputs updated. An
     * update that would take its output past the bound keeps only its (shortened) text.
     */
    List<DisplayOutput> update(String displayId, Map<String, JsonNode> data, long bytes) {
        List<DisplayOutput> updated = new ArrayList<>();
        if (displayId == null) {
            return updated;
        }
        for (Item item : all()) {
            if (item.output != null && displayId.equals(item.output.displayId())) {
                DisplayOutput old = item.output;
                DisplayOutput next = new DisplayOutput(old.type(), data, old.metadata(), old.displayId(), old.executionCount());
                long n = Math.max(1, bytes);
                long cap = Math.max(item.bytes, item.inHead ? headCap - headUsed() + item.bytes : 2 * tailCap - tailUsed() + item.bytes);
                if (n > cap) {
                    next = textOnly(next, cap);
                    drop(null, n);
                    if (next == null) {
                        continue;
                    }
                    n = Math.max(1, Math.min(cap, textBytes(next)));
                }
                if (item.inHead) {
                    headBytes += n - item.bytes;
                } else {
                    tailBytes += n - item.bytes;
                }
                item.output = next;
                item.bytes = n;
                updated.add(next);
            }
        }
        return updated;
    }

    /** clear_output: what was kept goes (and with it the place of the cut); what was dropped stays counted. */
    void clear() {
        droppedByStream.clear();
        head.clear();
        tail.clear();
        headBytes = 0;
        tailBytes = 0;
        inTail = false;
    }

    /** A traceback within a quarter of the limit: its first and last lines, with the count of those left out. */
    ExecutionError bounded(ExecutionError error) {
        long budget = Math.max(256, (headCap + tailCap) / 4);
        long size = utf8Length(error.ename()) + utf8Length(error.evalue());
        for (String line : error.traceback()) {
            size += utf8Length(line);
        }
        if (size <= budget && error.ename().length() <= 256) {
            return error;
        }
        String ename = error.ename().length() > 256 ? error.ename().substring(0, 256) + "…" : error.ename();
        String evalue = utf8Length(error.evalue()) > budget / 4 ? firstBytes(error.evalue(), budget / 4) + "…" : error.evalue();
        long left = budget - utf8Length(evalue);
        List<String> lines = error.traceback();
        List<String> front = new ArrayList<>();
        Deque<String> back = new ArrayDeque<>();
        int i = 0;
        int j = lines.size() - 1;
        boolean fromBack = true; // the end of a traceback says where it failed: it goes first
        while (i <= j) {
            String line = fromBack ? lines.get(j) : lines.get(i);
            long n = utf8Length(line);
            if (n > left) {
                break;
            }
            left -= n;
            if (fromBack) {
                back.addFirst(line);
                j--;
            } else {
                front.add(line);
                i++;
            }
            fromBack = !fromBack;
        }
        long removed = size - (budget - left) - utf8Length(error.ename());
        List<String> kept = new ArrayList<>(front);
        if (i <= j) {
            kept.add(String.format(Locale.ROOT, "[carpo: %,d traceback line(s) dropped]", j - i + 1));
        }
        kept.addAll(back);
        drop(null, Math.max(1, removed)); // the traceback carries its own marker line
        return new ExecutionError(ename, evalue, kept);
    }

    /** The kept stdout or stderr: head, a marker where the middle was dropped, tail. */
    String text(String stream) {
        StringBuilder sb = new StringBuilder();
        for (Item item : head) {
            if (stream.equals(item.stream)) {
                sb.append(item.text);
            }
        }
        Long cut = droppedByStream.get(stream);
        if (cut != null && cut > 0) {
            // On a line of its own whatever the head ended with, so that head + marker line + tail is exactly what it shows.
            sb.append(String.format(Locale.ROOT, "%n[carpo: %,d bytes of output dropped]%n", cut));
        }
        for (Item item : tail) {
            if (stream.equals(item.stream)) {
                sb.append(item.text);
            }
        }
        return sb.toString();
    }

    /** The kept rich outputs, head then tail, in order. */
    List<DisplayOutput> outputs() {
        List<DisplayOutput> outputs = new ArrayList<>();
        for (Item item : all()) {
            if (item.output != null) {
                outputs.add(item.output);
            }
        }
        return outputs;
    }

    /** Replays the kept tail, for a listener that was shown the head as it streamed. */
    void replayTail(OutputListener listener) {
        for (Item item : tail) {
            if (item.output != null) {
                listener.onOutput(item.output);
            } else {
                listener.onStream(item.stream, item.text.toString());
            }
        }
    }

    private List<Item> all() {
        List<Item> all = new ArrayList<>(head);
        all.addAll(tail);
        return all;
    }

    private void compactTo(long cap) {
        while (tailUsed() > cap && !tail.isEmpty()) {
            Item first = tail.peekFirst();
            long excess = tailUsed() - cap;
            if (first.output == null && first.bytes > excess) {
                int cut = charsCovering(first.text, excess);
                long cutBytes = utf8Length(first.text.substring(0, cut));
                first.text.delete(0, cut);
                first.bytes -= cutBytes;
                tailBytes -= cutBytes;
                drop(first.stream, cutBytes);
            } else {
                tail.pollFirst();
                drop(first.stream, first.bytes);
                tailBytes -= first.bytes;
            }
        }
    }


    private void drop(String stream, long bytes) {
        dropped += bytes;
        if (stream != null) {
            droppedByStream.merge(stream, bytes, Long::sum);
        }
    }

    /** The output with only its text/plain, cut to {@code cap} bytes; null when it has no text. */
    private static DisplayOutput textOnly(DisplayOutput output, long cap) {
        JsonNode text = output.data().get("text/plain");
        if (text == null) {
            return null;
        }
        String plain = output.text("text/plain");
        String cut = utf8Length(plain) <= cap ? plain : firstBytes(plain, Math.max(0, cap - 64)) + "…";
        return new DisplayOutput(output.type(), Map.of("text/plain", TextNode.valueOf(cut)), output.metadata(),
                output.displayId(), output.executionCount());
    }

    private static long textBytes(DisplayOutput output) {
        String plain = output.text("text/plain");
        return plain == null ? 0 : utf8Length(plain);
    }



    /** UTF-8 bytes of one code point (a lone surrogate, which has no UTF-8 form, counted as 3). */
    private static int utf8Bytes(int codePoint) {
        return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    }

    static long utf8Length(CharSequence s) {
        long n = 0;
        for (int i = 0; s != null && i < s.length(); ) {
            int cp = Character.codePointAt(s, i);
            n += utf8Bytes(cp);
            i += Character.charCount(cp);
        }
        return n;
    }

    /** The longest suffix of {@code s} within {@code bytes} UTF-8 bytes, never splitting a surrogate pair. */
    static String lastBytes(String s, long bytes) {
        long n = 0;
        int i = s.length();
        while (i > 0) {
            int cp = Character.codePointBefore(s, i);
            if (n + utf8Bytes(cp) > bytes) {
                break;
            }
            n += utf8Bytes(cp);
            i -= Character.charCount(cp);
        }
        return s.substring(i);
    }

    /** The longest prefix of {@code s} within {@code bytes} UTF-8 bytes, never splitting a surrogate pair. */
    static String firstBytes(String s, long bytes) {
        long n = 0;
        int i = 0;
        while (i < s.length()) {
            int cp = Character.codePointAt(s, i);
            if (n + utf8Bytes(cp) > bytes) {
                break;
            }
            n += utf8Bytes(cp);
            i += Character.charCount(cp);
        }
        return s.substring(0, i);
    }

    /** How many chars from the start of {@code s} hold at least {@code bytes} UTF-8 bytes, never splitting a surrogate pair. */
    private static int charsCovering(CharSequence s, long bytes) {
        long n = 0;
        int i = 0;
        while (i < s.length() && n < bytes) {
            int cp = Character.codePointAt(s, i);
            n += utf8Bytes(cp);
            i += Character.charCount(cp);
        }
        return i;
    }
}

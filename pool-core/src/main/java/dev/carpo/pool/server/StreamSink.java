package dev.carpo.pool.server;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * An interpreter's stdout or stderr as an {@link OutputStream}: bytes are sent on iopub (through
 * the running execution's {@link Interpreter.Output}) a line, or a flush, at a time. Writes made
 * while no execution runs are dropped.
 *
 * <p>Example: {@code globals.STDOUT = new PrintStream(new StreamSink("stdout"), true, UTF_8);}
 */
public final class StreamSink extends OutputStream {
    private final String name;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private volatile Interpreter.Output target;

    /** @param name {@code stdout} or {@code stderr} */
    public StreamSink(String name) {
        this.name = name;
    }

    /** Where the text goes from now on ({@code null}: nowhere, between executions). */
    public void target(Interpreter.Output output) {
        flush();
        this.target = output;
    }

    @Override
    public synchronized void write(int b) {
        pending.write(b);
        if (b == '\n') {
            flush();
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        pending.write(b, off, len);
        if (len > 0 && b[off + len - 1] == '\n') {
            flush();
        }
    }

    @Override
    public synchronized void flush() {
        if (pending.size() == 0) {
            return;
        }
        String text = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        Interpreter.Output t = target;
        if (t != null) {
            t.stream(name, text);
        }
    }
}

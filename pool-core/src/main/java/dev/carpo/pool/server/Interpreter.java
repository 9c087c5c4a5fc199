package dev.carpo.pool.server;

import java.util.List;

/**
 * A language behind a {@link KernelServer}: runs code with state kept between runs, and answers
 * completion and completeness questions. {@link #execute} runs on the server's shell thread;
 * {@link #interrupt} comes from its control thread while an execution runs.
 */
public interface Interpreter extends AutoCloseable {

    /** What kernel_info_reply says of the language. */
    record LanguageInfo(String name, String version, String mimetype, String fileExtension, String implementation,
                        String implementationVersion, String banner) {
    }

    /** Where output goes while code runs: {@code stdout} or {@code stderr}, sent on iopub as it comes. */
    interface Output {
        void stream(String name, String text);
    }

    /** An execution's outcome: a value (text/plain, or null for none), or an error. */
    sealed interface Outcome permits Value, Failure {
    }

    record Value(String textPlain) implements Outcome {
    }

    record Failure(String ename, String evalue, List<String> traceback) implements Outcome {
    }

    /** Completion candidates replacing {@code code[cursorStart, cursorEnd)}. */
    record Completion(List<String> matches, int cursorStart, int cursorEnd) {
    }

    /** is_complete_reply: {@code complete}, {@code incomplete} (with the indent to continue with), {@code invalid} or {@code unknown}. */
    record Completeness(String status, String indent) {
    }

    LanguageInfo languageInfo();

    /**
     * Called by the {@link KernelServer} on its shell thread when an execute_request has arrived, just
     * before the cell begins: before execute_input is published and before an interrupt can reach the
     * cell. An interrupt that comes while this runs is dropped, as ipykernel ignores SIGINT between
     * cells (it has the request, but has not begun it). Does nothing by default, and real interpreters
     * need nothing here; a test interpreter may block in it to hold a kernel in that window.
     */
    default void beforeCell(String code) {
    }

    Outcome execute(String code, Output output);

    /**
     * Stops the running execution soon, which then ends in a {@link Failure}. Called from another
     * thread, only while an execution is under way: the server drops an interrupt between cells.
     * One that comes before {@link #execute} has begun must still stop it.
     */
    void interrupt();

    /** Forgets an interrupt; the server calls it around each execution so none reaches a later cell. */
    default void clearInterrupt() {
    }

    Completion complete(String code, int cursorPos);

    Completeness isComplete(String code);

    @Override
    void close();
}

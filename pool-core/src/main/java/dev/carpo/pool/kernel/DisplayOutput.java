package dev.carpo.pool.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * One rich output of an execution: an {@code execute_result} or a {@code display_data}, as a mime
 * bundle. Later {@code update_display_data} messages with the same display id replace its data.
 *
 * <p>Example: {@code String html = output.text("text/html");}
 *
 * @param type {@code execute_result} or {@code display_data}
 * @param data mime type to value (a string for text types, JSON for {@code application/json})
 * @param metadata the output's metadata
 * @param displayId the transient display id, or {@code null}
 * @param executionCount the execution count of an execute_result, or {@code null}
 */
public record DisplayOutput(String type, Map<String, JsonNode> data, ObjectNode metadata, String displayId, Integer executionCount) {

    public DisplayOutput {
        data = Map.copyOf(data);
    }

    /** The value of one mime type as text (string values as they are, JSON serialized), or {@code null}. */
    public String text(String mimeType) {
        JsonNode value = data.get(mimeType);
        if (value == null) {
            return null;
        }
        if (value.isTextual()) {
            return value.asText();
        }
        if (value.isArray() && value.size() > 0 && value.get(0).isTextual()) {
            // nbformat allows multi-line strings as lists of lines.
            StringBuilder sb = new StringBuilder();
            value.forEach(line -> sb.append(line.asText()));
            return sb.toString();
        }
        return value.toString();
    }
}

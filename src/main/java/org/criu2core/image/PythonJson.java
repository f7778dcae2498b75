package org.criu2core.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * Prints a JSON tree byte for byte as Python's {@code json.dump(obj, f, indent=...)} does, so
 * that {@code decode} output diffs cleanly against crit's: ", " and ": " separators, four-space
 * indent when pretty, non-ASCII escaped as \\uXXXX.
 */
public final class PythonJson {
    private static final int INDENT = 4;

    private PythonJson() {
    }

    public static String write(JsonNode node, boolean pretty) {
        var out = new StringBuilder();
        try {
            write(node, pretty, out);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a StringBuilder does not fail", e);
        }
        return out.toString();
    }

    /** Writes to {@code out} as it goes: the JSON of a large image is never one string. */
    public static void write(JsonNode node, boolean pretty, Appendable out) throws java.io.IOException {
        write(node, pretty, 0, out);
    }

    private static void write(JsonNode node, boolean pretty, int depth, Appendable out) throws java.io.IOException {
        if (node.isObject()) {
            if (node.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                separator(first, pretty, depth + 1, out);
                first = false;
                string(field.getKey(), out);
                out.append(": ");
                write(field.getValue(), pretty, depth + 1, out);
            }
            close('}', pretty, depth, out);
        } else if (node.isArray()) {
            if (node.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            boolean first = true;
            for (JsonNode element : node) {
                separator(first, pretty, depth + 1, out);
                first = false;
                write(element, pretty, depth + 1, out);
            }
            close(']', pretty, depth, out);
        } else if (node.isTextual()) {
            string(node.textValue(), out);
        } else if (node.isIntegralNumber()) {
            out.append(node.bigIntegerValue().toString());
        } else if (node.isBoolean()) {
            out.append(node.booleanValue() ? "true" : "false");
        } else if (node.isNull()) {
            out.append("null");
        } else {
            out.append(node.asText());
        }
    }

    private static void separator(boolean first, boolean pretty, int depth, Appendable out)
            throws java.io.IOException {
        if (!first) {
            out.append(pretty ? "," : ", ");
        }
        if (pretty) {
            out.append('\n').append(" ".repeat(depth * INDENT));
        }
    }

    private static void close(char bracket, boolean pretty, int depth, Appendable out) throws java.io.IOException {
        if (pretty) {
            out.append('\n').append(" ".repeat(depth * INDENT));
        }
        out.append(bracket);
    }

    private static void string(String s, Appendable out) throws java.io.IOException {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e && c != 0x7f) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}

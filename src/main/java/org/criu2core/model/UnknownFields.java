package org.criu2core.model;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Fields of a message, and of the messages inside it, that this tool's schema does not have:
 * written by a newer CRIU. protobuf keeps them aside; this names them, "vma_entry.23", so that
 * what the tool leaves out is said, not silently ignored.
 */
final class UnknownFields {
    private UnknownFields() {
    }

    static Set<String> of(Message message) {
        Set<String> out = new TreeSet<>();
        collect(message, out);
        return out;
    }

    /** The fields of each message type that hold messages: walked for every one of 70 000 VMAs. */
    private static final Map<Descriptor, List<FieldDescriptor>> MESSAGE_FIELDS = new ConcurrentHashMap<>();

    private static void collect(Message message, Set<String> out) {
        Descriptor type = message.getDescriptorForType();
        for (int number : message.getUnknownFields().asMap().keySet()) {
            out.add(type.getName() + "." + number);
        }
        for (FieldDescriptor field : MESSAGE_FIELDS.computeIfAbsent(type, t -> t.getFields().stream()
                .filter(f -> f.getJavaType() == FieldDescriptor.JavaType.MESSAGE).toList())) {
            if (field.isRepeated()) {
                for (int i = 0, n = message.getRepeatedFieldCount(field); i < n; i++) {
                    collect((Message) message.getRepeatedField(field, i), out);
                }
            } else if (message.hasField(field)) {
                collect((Message) message.getField(field), out);
            }
        }
    }

    /** One line for a warning: "FILE: fields a, b are from a newer CRIU and were left out". */
    static String warning(String file, Set<String> fields) {
        return file + ": field" + (fields.size() == 1 ? " " : "s ") + String.join(", ", fields)
                + " (from a CRIU newer than this tool's schema) left out";
    }
}

package org.criu2core.model;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.TreeSet;

/**
 * Fields of a message, and of the messages inside it, that this tool's schema does not have:
 * written by a newer CRIU. protobuf keeps them aside; this names them, "vma_entry.23", so that
 * what the tool leaves out is said, not silently ignored. An enum value the schema does not
 * name counts too (protobuf keeps it aside the same way).
 *
 * <p>Found in the message's wire form with its descriptor alone: protobuf's reflection over a
 * message type (getField, hasField, even getDescriptorForType) first looks up every accessor of
 * the type by name, which for core_entry took 35 ms of each start.
 */
final class UnknownFields {
    private UnknownFields() {
    }

    /**
     * The unknown fields in {@code message}, a message of {@code type}: the caller names the type
     * from the message's class (core_entry.getDescriptor()), as asking the message
     * (getDescriptorForType) sets up that reflection.
     */
    static Set<String> of(Message message, Descriptor type) {
        Set<String> out = new TreeSet<>();
        try {
            scan(type, message.toByteString().newCodedInput(), out);
        } catch (IOException e) {
            // the bytes are protobuf's own serialisation of a message it parsed
            throw new UncheckedIOException("a message protobuf wrote does not read back", e);
        }
        return out;
    }

    private static void scan(Descriptor type, CodedInputStream in, Set<String> out) throws IOException {
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            FieldDescriptor field = type.findFieldByNumber(WireFormat.getTagFieldNumber(tag));
            int wireType = WireFormat.getTagWireType(tag);
            if (field == null || !fits(field, wireType)) {
                // a number the schema does not have, or has as another type: protobuf kept it aside
                out.add(type.getName() + "." + WireFormat.getTagFieldNumber(tag));
                in.skipField(tag);
            } else if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                int limit = in.pushLimit(in.readRawVarint32());
                scan(field.getMessageType(), in, out);
                in.popLimit(limit);
            } else if (field.getJavaType() == FieldDescriptor.JavaType.ENUM) {
                enumValues(type, field, wireType, in, out);
            } else {
                in.skipField(tag);
            }
        }
    }

    private static boolean fits(FieldDescriptor field, int wireType) {
        WireFormat.FieldType type = field.getLiteType();
        return wireType == type.getWireType()
                || field.isRepeated() && type.isPackable() && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }

    /** Enum values, single or packed, that the schema does not name. */
    private static void enumValues(Descriptor type, FieldDescriptor field, int wireType, CodedInputStream in,
                                   Set<String> out) throws IOException {
        if (wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int limit = in.pushLimit(in.readRawVarint32());
            while (in.getBytesUntilLimit() > 0) {
                enumValue(type, field, in.readEnum(), out);
            }
            in.popLimit(limit);
        } else {
            enumValue(type, field, in.readEnum(), out);
        }
    }

    private static void enumValue(Descriptor type, FieldDescriptor field, int value, Set<String> out) {
        if (field.getEnumType().findValueByNumber(value) == null) {
            out.add(type.getName() + "." + field.getNumber());
        }
    }

    /** One line for a warning: "FILE: fields a, b are from a newer CRIU and were left out". */
    static String warning(String file, Set<String> fields) {
        return file + ": field" + (fields.size() == 1 ? " " : "s ") + String.join(", ", fields)
                + " (from a CRIU newer than this tool's schema) left out";
    }
}

package org.criu2core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import java.util.Set;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.CoreX86.thread_info_x86;
import org.criu2core.image.proto.CoreX86.user_x86_regs_entry;
import org.junit.jupiter.api.Test;

/** What a newer CRIU may add, found at any depth, by number, as the warning names it. */
class UnknownFieldsTest {
    private static UnknownFieldSet field(int number, long varint) {
        return UnknownFieldSet.newBuilder()
                .addField(number, UnknownFieldSet.Field.newBuilder().addVarint(varint).build())
                .build();
    }

    /** A core entry as protobuf reads one: known fields set, anything else kept aside. */
    private static core_entry.Builder core() {
        return core_entry.newBuilder().setMtype(core_entry.march.X86_64)
                .setThreadInfo(thread_info_x86.newBuilder()
                        .setGpregs(user_x86_regs_entry.newBuilder().setR15(15).buildPartial())
                        .buildPartial());
    }

    private static Set<String> unknown(core_entry.Builder core) throws Exception {
        // parsed back, as the images are: unknown enum values and mistyped fields go aside here
        var parsed = core_entry.parser().parsePartialFrom(core.buildPartial().toByteString());
        return UnknownFields.of(parsed, core_entry.getDescriptor());
    }

    @Test
    void aMessageOfKnownFieldsHasNone() throws Exception {
        assertEquals(Set.of(), unknown(core()));
    }

    @Test
    void anUnknownFieldIsNamedAtAnyDepth() throws Exception {
        var core = core();
        core.getThreadInfoBuilder().getGpregsBuilder().setUnknownFields(field(99, 7));
        core.setUnknownFields(field(40, 1));
        assertEquals(Set.of("core_entry.40", "user_x86_regs_entry.99"), unknown(core));
    }

    @Test
    void anEnumValueTheSchemaDoesNotNameIsUnknown() throws Exception {
        // march 42, as a CRIU that knows a later architecture writes mtype
        var bytes = core().buildPartial().toByteString().concat(ByteString.copyFrom(new byte[] {0x08, 42}));
        var parsed = core_entry.parser().parsePartialFrom(bytes);
        assertEquals(Set.of("core_entry.1"), UnknownFields.of(parsed, core_entry.getDescriptor()));
    }

    @Test
    void aKnownNumberWithAnotherWireTypeIsUnknown() throws Exception {
        // thread_info (2) as a varint: a schema where 2 is something else
        var bytes = ByteString.copyFrom(new byte[] {0x08, 0x01, 0x10, 0x05});
        var parsed = core_entry.parser().parsePartialFrom(bytes);
        assertEquals(Set.of("core_entry.2"), UnknownFields.of(parsed, core_entry.getDescriptor()));
    }
}

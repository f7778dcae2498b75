package org.criu2core.arch;

import java.util.function.Function;
import org.criu2core.image.proto.Core.core_entry;

/**
 * One row of the kernel's user_regset table (arch/X/kernel/ptrace.c): a note each thread gets
 * after its NT_PRSTATUS, its size, and how to fill it from the thread's core image. {@code fill}
 * returns null where the thread has no such state, as the kernel skips an inactive regset. {@code
 * size} is -1 where it depends on the thread (XSAVE: on the features enabled).
 */
public record Regset(int noteType, String owner, int size, Function<core_entry, byte[]> fill) {
}

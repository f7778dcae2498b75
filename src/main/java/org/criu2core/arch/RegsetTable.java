package org.criu2core.arch;

import java.nio.ByteOrder;
import java.util.List;
import java.util.function.ToLongFunction;
import org.criu2core.elf.CoreStructs;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Struct;

/**
 * The data every architecture gives: a name, its ELF identity and byte order, struct
 * elf_prstatus with the size of its pr_reg, the regsets after NT_PRSTATUS and the names of the
 * general registers. The subclasses add only how to fill them from a core image.
 */
abstract class RegsetTable implements Arch {
    private final String name;
    private final ElfClass elfClass;
    private final ByteOrder byteOrder;
    private final int machine;
    private final CoreStructs.Prstatus prstatus;
    private final List<Regset> regsets;
    private final List<String> registerNames;
    private final int[] registerSizes;

    /** An architecture whose pr_reg is one word of the task's width per register. */
    RegsetTable(String name, ElfClass elfClass, ByteOrder byteOrder, int machine, List<String> registerNames,
                List<Regset> regsets) {
        this(name, elfClass, byteOrder, machine, registerNames,
                registerNames.stream().mapToInt(r -> elfClass.word()).toArray(), regsets);
    }

    /** An architecture whose pr_reg has registers of other sizes ({@code registerSizes}, in bytes). */
    RegsetTable(String name, ElfClass elfClass, ByteOrder byteOrder, int machine, List<String> registerNames,
                int[] registerSizes, List<Regset> regsets) {
        if (registerSizes.length != registerNames.size()) {
            throw new IllegalArgumentException(name + ": " + registerSizes.length + " sizes for "
                    + registerNames.size() + " registers");
        }
        this.name = name;
        this.elfClass = elfClass;
        this.byteOrder = byteOrder;
        this.machine = machine;
        this.registerNames = List.copyOf(registerNames);
        this.registerSizes = registerSizes.clone();
        this.prstatus = new CoreStructs.Prstatus(elfClass.word(), java.util.Arrays.stream(registerSizes).sum());
        this.regsets = List.copyOf(regsets);
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final ElfClass elfClass() {
        return elfClass;
    }

    @Override
    public final ByteOrder byteOrder() {
        return byteOrder;
    }

    @Override
    public final int machine() {
        return machine;
    }

    @Override
    public final int registerSize(int index) {
        return registerSizes[index];
    }

    @Override
    public final CoreStructs.Prstatus prstatus() {
        return prstatus;
    }

    @Override
    public final List<Regset> regsets() {
        return regsets;
    }

    @Override
    public final List<String> registerNames() {
        return registerNames;
    }

    /**
     * The registers {@code fields} reads from {@code regs}, one word of the task's width each, in
     * order: how elf_gregset_t is laid out on every architecture. A 32-bit word takes the low half
     * of what the image keeps in 64 bits.
     */
    protected final <T> byte[] words(T regs, List<ToLongFunction<T>> fields) {
        int word = elfClass.word();
        long mask = word == 8 ? -1L : 0xffff_ffffL;
        var out = new Struct(fields.size() * word, byteOrder);
        for (int i = 0; i < fields.size(); i++) {
            out.word(i * word, fields.get(i).applyAsLong(regs) & mask, word);
        }
        return out.toBytes();
    }
}

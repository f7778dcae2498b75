package org.criu2core.arch;

import java.util.List;
import org.criu2core.elf.CoreStructs;
import org.criu2core.elf.ElfClass;

/**
 * The data every architecture gives: a name, its ELF identity, struct elf_prstatus with the size
 * of its pr_reg, the regsets after NT_PRSTATUS and the names of the general registers. The
 * subclasses add only how to fill them from a core image.
 */
abstract class RegsetTable implements Arch {
    private final String name;
    private final ElfClass elfClass;
    private final int machine;
    private final CoreStructs.Prstatus prstatus;
    private final List<Regset> regsets;
    private final List<String> registerNames;

    RegsetTable(String name, ElfClass elfClass, int machine, List<String> registerNames, List<Regset> regsets) {
        this.name = name;
        this.elfClass = elfClass;
        this.machine = machine;
        this.registerNames = List.copyOf(registerNames);
        this.prstatus = new CoreStructs.Prstatus(elfClass.word(), registerNames.size() * elfClass.word());
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
    public final int machine() {
        return machine;
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
}

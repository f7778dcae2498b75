package org.criu2core.arch;

import java.nio.ByteOrder;
import java.util.List;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.CoreStructs;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Note;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.model.Process;

/**
 * What the kernel's core writer knows of one architecture (its user_regset_view), as data: the
 * ELF identity, the general registers in NT_PRSTATUS, the notes after it, and the shape of the
 * auxiliary vector. The generic writer asks nothing else, and nothing else asks which
 * architecture it is.
 */
public interface Arch {
    /** A name for messages: x86_64, i386, aarch64, armv7l, riscv64, ppc64le, s390x, loongarch64. */
    String name();

    ElfClass elfClass();

    /**
     * The platform an OCI image is made for on this architecture ("os/architecture[/variant]",
     * image-spec's values, which are Go's GOARCH): what picks a container image's manifest.
     */
    String ociPlatform();

    /** The byte order of the task: of every field of its core, and of the raw structs CRIU saves. */
    ByteOrder byteOrder();

    int machine();

    default int osabi() {
        return 0;
    }

    /** e_flags of the core, given the task's auxiliary vector. */
    default int elfFlags(long[] auxv) {
        return 0;
    }

    /** struct elf_prstatus of this architecture. */
    CoreStructs.Prstatus prstatus();

    default CoreStructs.Prpsinfo prpsinfo() {
        return elfClass().word() == 8 ? CoreStructs.Prpsinfo.LP64 : CoreStructs.Prpsinfo.ILP32_UID16;
    }

    /** Whether the core image holds this architecture's registers (a zombie's has none). */
    boolean hasRegisters(core_entry core);

    /** elf_gregset_t of a thread: the bytes of pr_reg. */
    byte[] generalRegisters(core_entry core);

    /** pr_fpvalid: whether the thread's FP registers are in the core. */
    boolean fpValid(core_entry core);

    /** The notes each thread gets after NT_PRSTATUS, in the kernel's order. */
    List<Regset> regsets();

    /** Notes about the whole process that the kernel writes after every thread's. */
    default List<Note> trailingNotes(Process process) {
        return List.of();
    }

    /**
     * The auxiliary vector as the task sees it, in words, ending with the AT_NULL pair that CRIU's
     * mm_saved_auxv leaves out.
     */
    default long[] auxv(List<Long> savedAuxv) {
        return Auxv.terminate(savedAuxv.stream().mapToLong(Long::longValue).toArray());
    }

    // --- reading cores back: what a comparison of two cores needs to know ---

    /** Names of the registers in pr_reg, in order, as gdb and the kernel's headers name them. */
    List<String> registerNames();

    /** The size in bytes of register {@code index} of pr_reg: a word but for s390x's access registers. */
    default int registerSize(int index) {
        return elfClass().word();
    }

    /**
     * The bits of register {@code index} of pr_reg that CRIU's images do not hold (it does not save
     * the register, or changes it for the restore): -1 for the whole register. A comparison with
     * the kernel's core leaves them out.
     */
    default long registerBitsNotInImages(int index) {
        return 0;
    }

    /**
     * Whether a thread's registers in {@code candidate} are those CRIU prepared for restarting the
     * system call the thread was stopped in, where {@code kernel} holds them as it stopped.
     */
    default boolean restartedSyscall(long[] kernel, long[] candidate) {
        return false;
    }

    /**
     * How a thread's note of {@code type} differs between two cores, in words; empty when the
     * parts that hold state agree. {@code expectedCore} and {@code actualCore} give the
     * process-wide notes some layouts are declared in.
     */
    default List<String> noteDifferences(int type, byte[] expected, byte[] actual,
                                         CoreFile expectedCore, CoreFile actualCore) {
        return java.util.Arrays.equals(expected, actual) ? List.of() : List.of("differs");
    }

    /**
     * How a thread's note of {@code type} differs from the note the kernel wrote for the same
     * thread: as {@link #noteDifferences} but where the images hold a value that is not the
     * task's, which a comparison with the kernel's core then leaves out.
     */
    default List<String> kernelNoteDifferences(int type, byte[] kernel, byte[] actual, CoreFile kernelCore,
                                               CoreFile actualCore) {
        return noteDifferences(type, kernel, actual, kernelCore, actualCore);
    }

    /**
     * Whether the kernel writes the thread note {@code type} only for a thread that has used the
     * state, which the images do not record: a comparison with the kernel's core then compares the
     * note where both cores have it.
     */
    default boolean writtenOnlyOnceUsed(int type) {
        return false;
    }

    /** The thread notes a core of this architecture must have (beyond NT_PRSTATUS). */
    default List<Integer> requiredThreadNotes() {
        return regsets().stream().map(Regset::noteType).toList();
    }

    /** The architecture of cores with this e_machine and class, for reading them back. */
    static java.util.Optional<Arch> forMachine(int machine, ElfClass elfClass) {
        for (Arch a : List.<Arch>of(X86.X86_64, X86.I386, Aarch64.INSTANCE, Armv7l.INSTANCE, Riscv64.INSTANCE,
                Ppc64.INSTANCE, S390.INSTANCE, Loongarch64.INSTANCE)) {
            if (a.machine() == machine && a.elfClass() == elfClass) {
                return java.util.Optional.of(a);
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * The architecture of a process, from its threads' core images: {@code core_entry.mtype}, and
     * for x86 whether the task runs in 32-bit mode. All threads must agree.
     */
    static Arch of(Process process, String coreName) throws CheckpointException {
        Arch arch = null;
        for (var thread : process.threads()) {
            Arch a = of(thread.core(), coreName);
            if (arch != null && arch != a) {
                throw new CheckpointException(coreName, "thread " + thread.tid() + " is " + a.name()
                        + " while thread " + process.mainThread().tid() + " is " + arch.name());
            }
            arch = a;
        }
        return arch;
    }

    private static Arch of(core_entry core, String coreName) throws CheckpointException {
        return switch (core.getMtype()) {
            case X86_64 -> core.hasThreadInfo() && X86.isCompat(core.getThreadInfo()) ? X86.I386 : X86.X86_64;
            case AARCH64 -> Aarch64.INSTANCE;
            case ARM -> Armv7l.INSTANCE;
            case RISCV64 -> Riscv64.INSTANCE;
            case PPC64 -> Ppc64.INSTANCE;
            case S390 -> S390.INSTANCE;
            case LOONGARCH64 -> Loongarch64.INSTANCE;
            default -> throw new CheckpointException(coreName, "architecture " + core.getMtype()
                    + " is not supported: criu2core converts x86_64 (and its 32-bit tasks), aarch64, armv7l, riscv64,"
                    + " ppc64le, s390x and loongarch64");
        };
    }
}

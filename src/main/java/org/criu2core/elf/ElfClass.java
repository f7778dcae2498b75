package org.criu2core.elf;

/**
 * What differs between 32- and 64-bit ELF files: the width of a word and the offsets of the
 * header fields a core file sets. Each layout sits under the C struct it is read from
 * (include/uapi/linux/elf.h); fields a core leaves zero are not listed.
 */
public record ElfClass(int ident, int word, Ehdr ehdr, Phdr phdr, Shdr shdr) {
    public record Ehdr(int size, int eEntry, int ePhoff, int eShoff, int eFlags, int eEhsize,
                       int ePhentsize, int ePhnum, int eShentsize, int eShnum, int eShstrndx) {
    }

    public record Phdr(int size, int pType, int pFlags, int pOffset, int pVaddr, int pFilesz, int pMemsz,
                       int pAlign) {
    }

    public record Shdr(int size, int shType, int shSize, int shLink, int shInfo) {
    }

    /*
     * typedef struct elf32_hdr {                 typedef struct elf32_phdr {
     *   unsigned char e_ident[EI_NIDENT];  0       Elf32_Word p_type;    0
     *   Elf32_Half e_type;                16       Elf32_Off  p_offset;  4
     *   Elf32_Half e_machine;             18       Elf32_Addr p_vaddr;   8
     *   Elf32_Word e_version;             20       Elf32_Addr p_paddr;   12
     *   Elf32_Addr e_entry;               24       Elf32_Word p_filesz;  16
     *   Elf32_Off  e_phoff;               28       Elf32_Word p_memsz;   20
     *   Elf32_Off  e_shoff;               32       Elf32_Word p_flags;   24
     *   Elf32_Word e_flags;               36       Elf32_Word p_align;   28
     *   Elf32_Half e_ehsize;              40     } Elf32_Phdr;          (32)
     *   Elf32_Half e_phentsize;           42
     *   Elf32_Half e_phnum;               44     typedef struct elf32_shdr {
     *   Elf32_Half e_shentsize;           46       Elf32_Word sh_name 0, sh_type 4, sh_flags 8;
     *   Elf32_Half e_shnum;               48       Elf32_Addr sh_addr 12; Elf32_Off sh_offset 16;
     *   Elf32_Half e_shstrndx;            50       Elf32_Word sh_size 20, sh_link 24, sh_info 28,
     * } Elf32_Ehdr;                      (52)                 sh_addralign 32, sh_entsize 36;
     *                                            } Elf32_Shdr;          (40)
     */
    public static final ElfClass ELF32 = new ElfClass(Elf.ELFCLASS32, 4,
            new Ehdr(52, 24, 28, 32, 36, 40, 42, 44, 46, 48, 50),
            new Phdr(32, 0, 24, 4, 8, 16, 20, 28),
            new Shdr(40, 4, 20, 24, 28));

    /*
     * typedef struct elf64_hdr {                 typedef struct elf64_phdr {
     *   unsigned char e_ident[EI_NIDENT];  0       Elf64_Word  p_type;   0
     *   Elf64_Half e_type;                16       Elf64_Word  p_flags;  4
     *   Elf64_Half e_machine;             18       Elf64_Off   p_offset; 8
     *   Elf64_Word e_version;             20       Elf64_Addr  p_vaddr;  16
     *   Elf64_Addr e_entry;               24       Elf64_Addr  p_paddr;  24
     *   Elf64_Off  e_phoff;               32       Elf64_Xword p_filesz; 32
     *   Elf64_Off  e_shoff;               40       Elf64_Xword p_memsz;  40
     *   Elf64_Word e_flags;               48       Elf64_Xword p_align;  48
     *   Elf64_Half e_ehsize;              52     } Elf64_Phdr;          (56)
     *   Elf64_Half e_phentsize;           54
     *   Elf64_Half e_phnum;               56     typedef struct elf64_shdr {
     *   Elf64_Half e_shentsize;           58       Elf64_Word sh_name 0, sh_type 4;
     *   Elf64_Half e_shnum;               60       Elf64_Xword sh_flags 8; Elf64_Addr sh_addr 16;
     *   Elf64_Half e_shstrndx;            62       Elf64_Off sh_offset 24; Elf64_Xword sh_size 32;
     * } Elf64_Ehdr;                      (64)      Elf64_Word sh_link 40, sh_info 44;
     *                                              Elf64_Xword sh_addralign 48, sh_entsize 56;
     *                                            } Elf64_Shdr;          (64)
     */
    public static final ElfClass ELF64 = new ElfClass(Elf.ELFCLASS64, 8,
            new Ehdr(64, 24, 32, 40, 48, 52, 54, 56, 58, 60, 62),
            new Phdr(56, 0, 4, 8, 16, 32, 40, 48),
            new Shdr(64, 4, 32, 40, 44));
}

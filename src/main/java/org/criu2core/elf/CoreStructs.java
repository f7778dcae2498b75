package org.criu2core.elf;

/**
 * Where the fields of struct elf_prstatus and struct elf_prpsinfo (include/linux/elfcore.h,
 * include/uapi/linux/elfcore.h) are, for a word of 8 bytes (64-bit tasks) or 4 (32-bit tasks).
 * The general registers, pr_reg, are the architecture's; their size places pr_fpvalid.
 */
public final class CoreStructs {
    private CoreStructs() {
    }

    /*
     * struct elf_prstatus_common {
     *   struct elf_siginfo pr_info;     0   { int si_signo; int si_code; int si_errno; }
     *   short pr_cursig;                12
     *   unsigned long pr_sigpend;       16
     *   unsigned long pr_sighold;       16 + w
     *   pid_t pr_pid;                   16 + 2w
     *   pid_t pr_ppid, pr_pgrp, pr_sid;
     *   struct timeval pr_utime, pr_stime, pr_cutime, pr_cstime;    32 + 2w, each 2w bytes
     * };
     * struct elf_prstatus {
     *   struct elf_prstatus_common common;
     *   elf_gregset_t pr_reg;           32 + 10w
     *   int pr_fpvalid;                 after pr_reg
     * };                                padded to a word
     */
    public record Prstatus(int word, int regSize) {
        public static final int PR_SI_SIGNO = 0;
        public static final int PR_CURSIG = 12;
        public static final int PR_SIGPEND = 16;

        public int prSighold() {
            return PR_SIGPEND + word;
        }

        public int prPid() {
            return PR_SIGPEND + 2 * word;
        }

        public int prPpid() {
            return prPid() + 4;
        }

        public int prPgrp() {
            return prPid() + 8;
        }

        public int prSid() {
            return prPid() + 12;
        }

        public int prReg() {
            return 32 + 10 * word;
        }

        public int prFpvalid() {
            return prReg() + regSize;
        }

        public int size() {
            int end = prFpvalid() + 4;
            return (end + word - 1) / word * word;
        }
    }

    /*
     * struct elf_prpsinfo {                    64-bit    32-bit (i386, arm: 16-bit ids)
     *   char pr_state;                           0         0
     *   char pr_sname;                           1         1
     *   char pr_zomb;                            2         2
     *   char pr_nice;                            3         3
     *   unsigned long pr_flag;                   8         4
     *   __kernel_uid_t pr_uid;                   16 (u32)  8 (u16)
     *   __kernel_gid_t pr_gid;                   20 (u32)  10 (u16)
     *   pid_t pr_pid, pr_ppid, pr_pgrp, pr_sid;  24..36    12..24
     *   char pr_fname[16];                       40        28
     *   char pr_psargs[ELF_PRARGSZ];             56        44
     * };                                         136       124
     */
    public record Prpsinfo(int prFlag, int flagWidth, int prUid, int prGid, int idWidth, int prPid,
                           int prFname, int prPsargs, int size) {
        public static final int PR_STATE = 0;
        public static final int PR_SNAME = 1;
        public static final int PR_ZOMB = 2;
        public static final int PR_NICE = 3;
        public static final int FNAME_LENGTH = 16;
        /** ELF_PRARGSZ: the command line, cut to 79 bytes and a NUL. */
        public static final int ELF_PRARGSZ = 80;

        public int prPpid() {
            return prPid + 4;
        }

        public int prPgrp() {
            return prPid + 8;
        }

        public int prSid() {
            return prPid + 12;
        }

        public static final Prpsinfo LP64 = new Prpsinfo(8, 8, 16, 20, 4, 24, 40, 56, 136);
        public static final Prpsinfo ILP32_UID16 = new Prpsinfo(4, 4, 8, 10, 2, 12, 28, 44, 124);
    }

    /** sizeof(siginfo_t) on every Linux architecture. */
    public static final int SIGINFO_SIZE = 128;
}

package org.criu2core.image;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The names crit gives to bits and values of fields marked {@code (criu).flags} and
 * {@code (criu).dict} (lib/pycriu/images/pb2dict.py), with the kernel and CRIU headers they
 * come from.
 */
final class CritNames {
    /** Named bits of one flags set, in the order crit prints them. */
    record Flags(Map<String, Long> bits) {
        String format(long value) {
            List<String> names = new ArrayList<>();
            long known = 0;
            for (var bit : bits.entrySet()) {
                if ((value & bit.getValue()) != 0) {
                    names.add(bit.getKey());
                }
                known |= bit.getValue();
            }
            long rest = value & ~known;
            if (rest != 0) {
                names.add("0x" + Long.toHexString(rest));
            }
            return String.join(" | ", names);
        }

        long parse(String text) {
            if (text.isEmpty()) {
                return 0;
            }
            long value = 0;
            for (String part : text.split("\\|")) {
                String name = part.strip();
                Long bit = bits.get(name);
                value += bit != null ? bit : ImageJson.parsePythonInt(name).longValue();
            }
            return value;
        }
    }

    private static Flags flags(Object... namesAndBits) {
        Map<String, Long> bits = new LinkedHashMap<>();
        for (int i = 0; i < namesAndBits.length; i += 2) {
            bits.put((String) namesAndBits[i], ((Number) namesAndBits[i + 1]).longValue());
        }
        return new Flags(bits);
    }

    static final Map<String, Flags> FLAGS = Map.of(
            // <asm-generic/mman-common.h>
            "mmap.prot", flags("PROT_READ", 0x1, "PROT_WRITE", 0x2, "PROT_EXEC", 0x4),
            "mmap.flags", flags("MAP_SHARED", 0x1, "MAP_PRIVATE", 0x2, "MAP_DROPPABLE", 0x08,
                    "MAP_ANON", 0x20, "MAP_GROWSDOWN", 0x0100),
            // criu/include/image.h
            "mmap.status", flags("VMA_AREA_NONE", 0, "VMA_AREA_REGULAR", 1 << 0, "VMA_AREA_STACK", 1 << 1,
                    "VMA_AREA_VSYSCALL", 1 << 2, "VMA_AREA_VDSO", 1 << 3, "VMA_AREA_HEAP", 1 << 5,
                    "VMA_FILE_PRIVATE", 1 << 6, "VMA_FILE_SHARED", 1 << 7, "VMA_ANON_SHARED", 1 << 8,
                    "VMA_ANON_PRIVATE", 1 << 9, "VMA_AREA_SYSVIPC", 1 << 10, "VMA_AREA_SOCKET", 1 << 11,
                    "VMA_AREA_VVAR", 1 << 12, "VMA_AREA_AIORING", 1 << 13, "VMA_AREA_MEMFD", 1 << 14,
                    // VMA_AREA_GUARD: crit 4.2 has no name for it and prints 0x10000
                    "VMA_AREA_SHSTK", 1 << 15, "VMA_AREA_GUARD", 1 << 16, "VMA_AREA_UPROBES", 1 << 17,
                    "VMA_UNSUPP", 1L << 31),
            // <asm-generic/fcntl.h>, octal there
            "rfile.flags", flags("O_WRONLY", 01, "O_RDWR", 02, "O_CREAT", 0100, "O_EXCL", 0200,
                    "O_NOCTTY", 0400, "O_TRUNC", 01000, "O_APPEND", 02000, "O_NONBLOCK", 04000,
                    "O_DSYNC", 010000, "FASYNC", 020000, "O_DIRECT", 040000, "O_LARGEFILE", 0100000,
                    "O_DIRECTORY", 0200000, "O_NOFOLLOW", 0400000, "O_NOATIME", 01000000,
                    "O_CLOEXEC", 02000000),
            // criu/include/pagemap.h
            "pmap.flags", flags("PE_PARENT", 1 << 0, "PE_LAZY", 1 << 1, "PE_PRESENT", 1 << 2),
            // <linux/fcntl.h>
            "seals.flags", flags("F_SEAL_SEAL", 0x0001, "F_SEAL_SHRINK", 0x0002, "F_SEAL_GROW", 0x0004,
                    "F_SEAL_WRITE", 0x0008, "F_SEAL_FUTURE_WRITE", 0x0010));

    /** crit's dict maps: dict name, then field name, then value to name. */
    static final Map<String, Map<String, Map<Long, String>>> DICTS = Map.of(
            "gen", Map.of("task_state", Map.of(1L, "Alive", 3L, "Zombie", 6L, "Stopped")),
            "sk", Map.of(
                    "family", Map.of(1L, "UNIX", 2L, "INET", 10L, "INET6", 16L, "NETLINK", 17L, "PACKET"),
                    "type", Map.of(1L, "STREAM", 2L, "DGRAM", 3L, "RAW", 5L, "SEQPACKET", 10L, "PACKET"),
                    "state", Map.of(1L, "ESTABLISHED", 2L, "SYN_SENT", 3L, "SYN_RECV", 4L, "FIN_WAIT1",
                            5L, "FIN_WAIT2", 6L, "TIME_WAIT", 7L, "CLOSE", 8L, "CLOSE_WAIT", 9L, "LAST_ACK",
                            10L, "LISTEN"),
                    "proto", Map.of(0L, "IP", 6L, "TCP", 17L, "UDP", 136L, "UDPLITE")));

    static BigInteger dictValue(String dict, String field, String name) {
        for (var e : DICTS.get(dict).getOrDefault(field, Map.of()).entrySet()) {
            if (e.getValue().equals(name)) {
                return BigInteger.valueOf(e.getKey());
            }
        }
        return ImageJson.parsePythonInt(name);
    }

    private CritNames() {
    }
}

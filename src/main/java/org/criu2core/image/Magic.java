package org.criu2core.image;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The magic numbers at the head of CRIU image files (criu/include/magic.h), under the names crit
 * prints: the macro name without its _MAGIC suffix. Where magic.h gives one number two names
 * (SHMEM_PAGEMAP_MAGIC is PAGEMAP_MAGIC), the first name is the one in use, as in crit.
 */
public final class Magic {
    /** Images v1.1 start with this, then the image's own magic (magic.h: "Sarov"). */
    public static final int IMG_COMMON = 0x54564319;
    /** Service files (stats, irmap-cache) start with this instead (magic.h: "Zlatoust"). */
    public static final int IMG_SERVICE = 0x55105940;

    public static final String INVENTORY = "INVENTORY";
    public static final String STATS = "STATS";
    public static final String IRMAP_CACHE = "IRMAP_CACHE";

    private static final Map<String, Integer> BY_NAME = new LinkedHashMap<>();
    private static final Map<Integer, String> BY_VALUE = new HashMap<>();

    private static void define(String name, int value) {
        BY_NAME.put(name, value);
        BY_VALUE.putIfAbsent(value, name);
    }

    static {
        define("INVENTORY", 0x58313116);
        define("PSTREE", 0x50273030);
        define("FDINFO", 0x56213732);
        define("PAGEMAP", 0x56084025);
        define("CORE", 0x55053847);
        define("IDS", 0x54432030);
        define("VMAS", 0x54123737);
        define("PIPES", 0x56513555);
        define("PIPES_DATA", 0x56453709);
        define("FIFO", 0x58364939);
        define("FIFO_DATA", 0x59333054);
        define("SIGACT", 0x55344201);
        define("UNIXSK", 0x54373943);
        define("INETSK", 0x56443851);
        define("PACKETSK", 0x60454618);
        define("ITIMERS", 0x57464056);
        define("POSIX_TIMERS", 0x52603957);
        define("SK_QUEUES", 0x56264026);
        define("UTSNS", 0x54473203);
        define("CREDS", 0x54023547);
        define("IPC_VAR", 0x53115007);
        define("IPCNS_SHM", 0x46283044);
        define("IPCNS_MSG", 0x55453737);
        define("IPCNS_SEM", 0x59573019);
        define("REG_FILES", 0x50363636);
        define("EXT_FILES", 0x59255641);
        define("FS", 0x51403912);
        define("MM", 0x57492820);
        define("REMAP_FPATH", 0x59133954);
        define("GHOST_FILE", 0x52583605);
        define("TCP_STREAM", 0x51465506);
        define("EVENTFD_FILE", 0x44523722);
        define("EVENTPOLL_FILE", 0x45023858);
        define("EVENTPOLL_TFD", 0x44433746);
        define("SIGNALFD", 0x57323820);
        define("INOTIFY_FILE", 0x48424431);
        define("INOTIFY_WD", 0x54562009);
        define("MNTS", 0x55563928);
        define("NETDEV", 0x57373951);
        define("NETNS", 0x55933752);
        define("TTY_FILES", 0x59433025);
        define("TTY_INFO", 0x59453036);
        define("TTY_DATA", 0x59413026);
        define("FILE_LOCKS", 0x54323616);
        define("RLIMIT", 0x57113925);
        define("FANOTIFY_FILE", 0x55096122);
        define("FANOTIFY_MARK", 0x56506035);
        define("SIGNAL", 0x59255647);
        define("NETLINK_SK", 0x58005614);
        define("NS_FILES", 0x61394011);
        define("TUNFILE", 0x57143751);
        define("CGROUP", 0x59383330);
        define("TIMERFD", 0x50493712);
        define("CPUINFO", 0x61404013);
        define("USERNS", 0x55474906);
        define("SECCOMP", 0x64413049);
        define("BINFMT_MISC", 0x67343323);
        define("AUTOFS", 0x49353943);
        define("FILES", 0x56303138);
        define("MEMFD_INODE", 0x48453499);
        define("TIMENS", 0x43114433);
        define("PIDNS", 0x61157326);
        define("BPFMAP_FILE", 0x57506142);
        define("BPFMAP_DATA", 0x64324033);
        define("APPARMOR", 0x59423047);
        define("PIDFD", 0x54435556);
        define("STATS", 0x57093306);
        define("IRMAP_CACHE", 0x57004059);
    }

    private Magic() {
    }

    public static Optional<String> name(int value) {
        return Optional.ofNullable(BY_VALUE.get(value));
    }

    /** Every image's own magic (not IMG_COMMON or IMG_SERVICE). */
    static java.util.Collection<Integer> values() {
        return BY_NAME.values();
    }

    public static Optional<Integer> value(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** The first magic word written before an image's own: none for the inventory. */
    public static Optional<Integer> leadingMagic(String name) {
        if (name.equals(INVENTORY)) {
            return Optional.empty();
        }
        return Optional.of(name.equals(STATS) || name.equals(IRMAP_CACHE) ? IMG_SERVICE : IMG_COMMON);
    }
}

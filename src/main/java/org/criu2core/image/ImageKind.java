package org.criu2core.image;

import com.google.protobuf.Message;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.criu2core.image.proto.Cgroup;
import org.criu2core.image.proto.Core;
import org.criu2core.image.proto.Creds;
import org.criu2core.image.proto.Eventfd;
import org.criu2core.image.proto.Eventpoll;
import org.criu2core.image.proto.ExtFile;
import org.criu2core.image.proto.Fdinfo;
import org.criu2core.image.proto.Fh;
import org.criu2core.image.proto.Fifo;
import org.criu2core.image.proto.Fs;
import org.criu2core.image.proto.GhostFile;
import org.criu2core.image.proto.Fsnotify;
import org.criu2core.image.proto.Inventory;
import org.criu2core.image.proto.IpcShm;
import org.criu2core.image.proto.IpcVar;
import org.criu2core.image.proto.Memfd;
import org.criu2core.image.proto.Mm;
import org.criu2core.image.proto.Mnt;
import org.criu2core.image.proto.Ns;
import org.criu2core.image.proto.PacketSock;
import org.criu2core.image.proto.Pagemap;
import org.criu2core.image.proto.Pidfd;
import org.criu2core.image.proto.Pidns;
import org.criu2core.image.proto.Pipe;
import org.criu2core.image.proto.PipeData;
import org.criu2core.image.proto.Pstree;
import org.criu2core.image.proto.Regfile;
import org.criu2core.image.proto.RemapFilePath;
import org.criu2core.image.proto.Rlimit;
import org.criu2core.image.proto.Sa;
import org.criu2core.image.proto.Seccomp;
import org.criu2core.image.proto.Signalfd;
import org.criu2core.image.proto.SkInet;
import org.criu2core.image.proto.SkNetlink;
import org.criu2core.image.proto.SkUnix;
import org.criu2core.image.proto.Stats;
import org.criu2core.image.proto.TcpStream;
import org.criu2core.image.proto.Timens;
import org.criu2core.image.proto.Timer;
import org.criu2core.image.proto.Timerfd;
import org.criu2core.image.proto.Tty;
import org.criu2core.image.proto.Tun;
import org.criu2core.image.proto.Utsns;
import org.criu2core.image.proto.Vma;

/**
 * What the entries of an image of one magic are: the message of each entry, the message of the
 * first entry where it differs (the pagemap's head), and the payload that follows each entry.
 * The table is crit's handler table (lib/pycriu/images/images.py) for the schemas in proto/.
 */
public record ImageKind(String magic, Message head, Message entry, ExtraPayload headExtra, ExtraPayload extra) {

    /**
     * The kinds found so far. A magic without a schema is not kept: it may come from a JSON
     * document ({@link ImageJson#fromJson}), any string.
     */
    private static final ConcurrentMap<String, ImageKind> KINDS = new ConcurrentHashMap<>();

    /** The kind of images with this magic, if this tool has its schema. */
    public static Optional<ImageKind> of(String magic) {
        return Optional.ofNullable(KINDS.computeIfAbsent(magic, ImageKind::lookUp));
    }

    /**
     * A switch rather than a table filled up front, so that a command loads and initialises the
     * message classes of the images it reads and no others: a conversion reads a dozen of the 55
     * kinds, and every class loaded at start-up also makes the launcher's class archive larger,
     * which each start maps and relocates page by page (docs/performance.md).
     */
    private static ImageKind lookUp(String magic) {
        return switch (magic) {
            case "INVENTORY" -> same(magic, Inventory.inventory_entry.getDefaultInstance());
            case "CORE" -> same(magic, Core.core_entry.getDefaultInstance());
            case "IDS" -> same(magic, Core.task_kobj_ids_entry.getDefaultInstance());
            case "CREDS" -> same(magic, Creds.creds_entry.getDefaultInstance());
            case "UTSNS" -> same(magic, Utsns.utsns_entry.getDefaultInstance());
            case "TIMENS" -> same(magic, Timens.timens_entry.getDefaultInstance());
            case "PIDNS" -> same(magic, Pidns.pidns_entry.getDefaultInstance());
            case "IPC_VAR" -> same(magic, IpcVar.ipc_var_entry.getDefaultInstance());
            case "FS" -> same(magic, Fs.fs_entry.getDefaultInstance());
            case "MM" -> same(magic, Mm.mm_entry.getDefaultInstance());
            case "CGROUP" -> same(magic, Cgroup.cgroup_entry.getDefaultInstance());
            case "STATS" -> same(magic, Stats.stats_entry.getDefaultInstance());
            case "PSTREE" -> same(magic, Pstree.pstree_entry.getDefaultInstance());
            case "REG_FILES" -> same(magic, Regfile.reg_file_entry.getDefaultInstance());
            case "NS_FILES" -> same(magic, Ns.ns_file_entry.getDefaultInstance());
            case "EVENTFD_FILE" -> same(magic, Eventfd.eventfd_file_entry.getDefaultInstance());
            case "EVENTPOLL_FILE" -> same(magic, Eventpoll.eventpoll_file_entry.getDefaultInstance());
            case "EVENTPOLL_TFD" -> same(magic, Eventpoll.eventpoll_tfd_entry.getDefaultInstance());
            case "SIGNALFD" -> same(magic, Signalfd.signalfd_entry.getDefaultInstance());
            case "TIMERFD" -> same(magic, Timerfd.timerfd_entry.getDefaultInstance());
            case "INOTIFY_FILE" -> same(magic, Fsnotify.inotify_file_entry.getDefaultInstance());
            case "INOTIFY_WD" -> same(magic, Fsnotify.inotify_wd_entry.getDefaultInstance());
            case "FANOTIFY_FILE" -> same(magic, Fsnotify.fanotify_file_entry.getDefaultInstance());
            case "FANOTIFY_MARK" -> same(magic, Fsnotify.fanotify_mark_entry.getDefaultInstance());
            case "VMAS" -> same(magic, Vma.vma_entry.getDefaultInstance());
            case "PIPES" -> same(magic, Pipe.pipe_entry.getDefaultInstance());
            case "FIFO" -> same(magic, Fifo.fifo_entry.getDefaultInstance());
            case "SIGACT" -> same(magic, Sa.sa_entry.getDefaultInstance());
            case "NETLINK_SK" -> same(magic, SkNetlink.netlink_sk_entry.getDefaultInstance());
            case "MNTS" -> same(magic, Mnt.mnt_entry.getDefaultInstance());
            case "TTY_FILES" -> same(magic, Tty.tty_file_entry.getDefaultInstance());
            case "TTY_INFO" -> same(magic, Tty.tty_info_entry.getDefaultInstance());
            case "TTY_DATA" -> same(magic, Tty.tty_data_entry.getDefaultInstance());
            case "RLIMIT" -> same(magic, Rlimit.rlimit_entry.getDefaultInstance());
            case "TUNFILE" -> same(magic, Tun.tunfile_entry.getDefaultInstance());
            case "EXT_FILES" -> same(magic, ExtFile.ext_file_entry.getDefaultInstance());
            case "IRMAP_CACHE" -> same(magic, Fh.irmap_cache_entry.getDefaultInstance());
            case "FDINFO" -> same(magic, Fdinfo.fdinfo_entry.getDefaultInstance());
            case "UNIXSK" -> same(magic, SkUnix.unix_sk_entry.getDefaultInstance());
            case "INETSK" -> same(magic, SkInet.inet_sk_entry.getDefaultInstance());
            case "PACKETSK" -> same(magic, PacketSock.packet_sock_entry.getDefaultInstance());
            case "ITIMERS" -> same(magic, Timer.itimer_entry.getDefaultInstance());
            case "POSIX_TIMERS" -> same(magic, Timer.posix_timer_entry.getDefaultInstance());
            case "SECCOMP" -> same(magic, Seccomp.seccomp_entry.getDefaultInstance());
            case "FILES" -> same(magic, Fdinfo.file_entry.getDefaultInstance());
            case "MEMFD_INODE" -> same(magic, Memfd.memfd_inode_entry.getDefaultInstance());
            case "PIDFD" -> same(magic, Pidfd.pidfd_entry.getDefaultInstance());
            case "REMAP_FPATH" -> same(magic, RemapFilePath.remap_file_path_entry.getDefaultInstance());
            case "PAGEMAP" -> new ImageKind(magic, Pagemap.pagemap_head.getDefaultInstance(),
                    Pagemap.pagemap_entry.getDefaultInstance(), null, null);
            case "PIPES_DATA", "FIFO_DATA" -> withPayload(magic, PipeData.pipe_data_entry.getDefaultInstance(),
                    ExtraPayload.PIPE_DATA);
            case "TCP_STREAM" -> withPayload(magic, TcpStream.tcp_stream_entry.getDefaultInstance(),
                    ExtraPayload.TCP_QUEUES);
            case "IPCNS_SHM" -> withPayload(magic, IpcShm.ipc_shm_entry.getDefaultInstance(), ExtraPayload.SYSV_SHM);
            case "GHOST_FILE" -> new ImageKind(magic, GhostFile.ghost_file_entry.getDefaultInstance(),
                    GhostFile.ghost_chunk_entry.getDefaultInstance(), ExtraPayload.GHOST_CONTENT,
                    ExtraPayload.GHOST_CHUNK);
            default -> null;
        };
    }

    /** Every entry the same message, with nothing after it. */
    private static ImageKind same(String magic, Message entry) {
        return new ImageKind(magic, entry, entry, null, null);
    }

    /** Every entry the same message, each followed by a payload. */
    private static ImageKind withPayload(String magic, Message entry, ExtraPayload extra) {
        return new ImageKind(magic, entry, entry, extra, extra);
    }

    /** The message of entry number {@code index}. */
    public Message entryAt(int index) {
        return index == 0 ? head : entry;
    }

    /** The payload after entry number {@code index}, or null. */
    public ExtraPayload extraAt(int index) {
        return index == 0 ? headExtra : extra;
    }
}

package org.criu2core.image;

import com.google.protobuf.Message;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
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

    private static final Map<String, ImageKind> KINDS = new HashMap<>();

    private static void kind(String magic, Message entry) {
        KINDS.put(magic, new ImageKind(magic, entry, entry, null, null));
    }

    static {
        kind("INVENTORY", Inventory.inventory_entry.getDefaultInstance());
        kind("CORE", Core.core_entry.getDefaultInstance());
        kind("IDS", Core.task_kobj_ids_entry.getDefaultInstance());
        kind("CREDS", Creds.creds_entry.getDefaultInstance());
        kind("UTSNS", Utsns.utsns_entry.getDefaultInstance());
        kind("TIMENS", Timens.timens_entry.getDefaultInstance());
        kind("PIDNS", Pidns.pidns_entry.getDefaultInstance());
        kind("IPC_VAR", IpcVar.ipc_var_entry.getDefaultInstance());
        kind("FS", Fs.fs_entry.getDefaultInstance());
        kind("MM", Mm.mm_entry.getDefaultInstance());
        kind("CGROUP", Cgroup.cgroup_entry.getDefaultInstance());
        kind("STATS", Stats.stats_entry.getDefaultInstance());
        kind("PSTREE", Pstree.pstree_entry.getDefaultInstance());
        kind("REG_FILES", Regfile.reg_file_entry.getDefaultInstance());
        kind("NS_FILES", Ns.ns_file_entry.getDefaultInstance());
        kind("EVENTFD_FILE", Eventfd.eventfd_file_entry.getDefaultInstance());
        kind("EVENTPOLL_FILE", Eventpoll.eventpoll_file_entry.getDefaultInstance());
        kind("EVENTPOLL_TFD", Eventpoll.eventpoll_tfd_entry.getDefaultInstance());
        kind("SIGNALFD", Signalfd.signalfd_entry.getDefaultInstance());
        kind("TIMERFD", Timerfd.timerfd_entry.getDefaultInstance());
        kind("INOTIFY_FILE", Fsnotify.inotify_file_entry.getDefaultInstance());
        kind("INOTIFY_WD", Fsnotify.inotify_wd_entry.getDefaultInstance());
        kind("FANOTIFY_FILE", Fsnotify.fanotify_file_entry.getDefaultInstance());
        kind("FANOTIFY_MARK", Fsnotify.fanotify_mark_entry.getDefaultInstance());
        kind("VMAS", Vma.vma_entry.getDefaultInstance());
        kind("PIPES", Pipe.pipe_entry.getDefaultInstance());
        kind("FIFO", Fifo.fifo_entry.getDefaultInstance());
        kind("SIGACT", Sa.sa_entry.getDefaultInstance());
        kind("NETLINK_SK", SkNetlink.netlink_sk_entry.getDefaultInstance());
        kind("MNTS", Mnt.mnt_entry.getDefaultInstance());
        kind("TTY_FILES", Tty.tty_file_entry.getDefaultInstance());
        kind("TTY_INFO", Tty.tty_info_entry.getDefaultInstance());
        kind("TTY_DATA", Tty.tty_data_entry.getDefaultInstance());
        kind("RLIMIT", Rlimit.rlimit_entry.getDefaultInstance());
        kind("TUNFILE", Tun.tunfile_entry.getDefaultInstance());
        kind("EXT_FILES", ExtFile.ext_file_entry.getDefaultInstance());
        kind("IRMAP_CACHE", Fh.irmap_cache_entry.getDefaultInstance());
        kind("FDINFO", Fdinfo.fdinfo_entry.getDefaultInstance());
        kind("UNIXSK", SkUnix.unix_sk_entry.getDefaultInstance());
        kind("INETSK", SkInet.inet_sk_entry.getDefaultInstance());
        kind("PACKETSK", PacketSock.packet_sock_entry.getDefaultInstance());
        kind("ITIMERS", Timer.itimer_entry.getDefaultInstance());
        kind("POSIX_TIMERS", Timer.posix_timer_entry.getDefaultInstance());
        kind("SECCOMP", Seccomp.seccomp_entry.getDefaultInstance());
        kind("FILES", Fdinfo.file_entry.getDefaultInstance());
        kind("MEMFD_INODE", Memfd.memfd_inode_entry.getDefaultInstance());
        kind("PIDFD", Pidfd.pidfd_entry.getDefaultInstance());
        kind("REMAP_FPATH", RemapFilePath.remap_file_path_entry.getDefaultInstance());
        KINDS.put("PAGEMAP", new ImageKind("PAGEMAP", Pagemap.pagemap_head.getDefaultInstance(),
                Pagemap.pagemap_entry.getDefaultInstance(), null, null));
        var pipeData = PipeData.pipe_data_entry.getDefaultInstance();
        KINDS.put("PIPES_DATA", new ImageKind("PIPES_DATA", pipeData, pipeData, ExtraPayload.PIPE_DATA,
                ExtraPayload.PIPE_DATA));
        KINDS.put("FIFO_DATA", new ImageKind("FIFO_DATA", pipeData, pipeData, ExtraPayload.PIPE_DATA,
                ExtraPayload.PIPE_DATA));
        var tcp = TcpStream.tcp_stream_entry.getDefaultInstance();
        KINDS.put("TCP_STREAM", new ImageKind("TCP_STREAM", tcp, tcp, ExtraPayload.TCP_QUEUES, ExtraPayload.TCP_QUEUES));
        var shm = IpcShm.ipc_shm_entry.getDefaultInstance();
        KINDS.put("IPCNS_SHM", new ImageKind("IPCNS_SHM", shm, shm, ExtraPayload.SYSV_SHM, ExtraPayload.SYSV_SHM));
        KINDS.put("GHOST_FILE", new ImageKind("GHOST_FILE", GhostFile.ghost_file_entry.getDefaultInstance(),
                GhostFile.ghost_chunk_entry.getDefaultInstance(), ExtraPayload.GHOST_CONTENT, ExtraPayload.GHOST_CHUNK));
    }

    /** The kind of images with this magic, if this tool has its schema. */
    public static Optional<ImageKind> of(String magic) {
        return Optional.ofNullable(KINDS.get(magic));
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

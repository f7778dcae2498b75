package org.criu2core.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.Fdinfo.fd_types;
import org.criu2core.image.proto.Fdinfo.file_entry;
import org.criu2core.image.proto.Inventory.inventory_entry;
import org.criu2core.image.proto.Memfd.memfd_inode_entry;
import org.criu2core.image.proto.Mm.mm_entry;
import org.criu2core.image.proto.Pstree.pstree_entry;
import org.criu2core.image.proto.Regfile.reg_file_entry;
import org.criu2core.image.proto.RemapFilePath.remap_file_path_entry;
import org.criu2core.image.proto.RemapFilePath.remap_type;
import org.criu2core.image.proto.Vma.vma_entry;

/**
 * A CRIU checkpoint as plain data: the process tree, each process's threads and memory areas,
 * and the files they map. The tree and the files are read at once; each process's images when
 * it is first asked for, so that one broken process does not keep the others from being read.
 * Page contents are not read here; {@link #pages} says where they are.
 */
public final class Checkpoint {
    /** One process as pstree.img lists it. */
    public record TreeEntry(int pid, int ppid, int pgid, int sid, List<Integer> threads) {
    }

    private final CheckpointDir dir;
    private final inventory_entry inventory;
    private final List<TreeEntry> tree;
    private final Map<Integer, MappedFile> files;
    private final Map<Integer, Process> loaded = new HashMap<>();

    private Checkpoint(CheckpointDir dir, inventory_entry inventory, List<TreeEntry> tree,
                       Map<Integer, MappedFile> files) {
        this.dir = dir;
        this.inventory = inventory;
        this.tree = tree;
        this.files = files;
    }

    public static Checkpoint load(Path path) throws IOException {
        var dir = new CheckpointDir(path);
        inventory_entry inventory = dir.has("inventory.img") ? dir.readEntry("inventory.img", inventory_entry.class) : null;
        if (inventory != null) {
            refuseCompressedPages(dir, inventory);
        }
        Map<Integer, MappedFile> files = loadFiles(dir);
        List<TreeEntry> tree = new ArrayList<>();
        for (ImageEntry entry : dir.read("pstree.img", "PSTREE").entries()) {
            var p = (pstree_entry) entry.message();
            tree.add(new TreeEntry(p.getPid(), p.getPpid(), p.getPgid(), p.getSid(), List.copyOf(p.getThreadsList())));
        }
        if (tree.isEmpty()) {
            throw new CheckpointException(dir.display("pstree.img"), "no processes in the tree");
        }
        return new Checkpoint(dir, inventory, List.copyOf(tree), Collections.unmodifiableMap(files));
    }

    /**
     * inventory_entry field 15, {@code compress}, of CRIU's --compress (criu-dev, 2026): a mode
     * other than 0 means the pages files hold compressed blocks, in a layout still changing
     * upstream, which this tool does not read.
     */
    private static final int INVENTORY_COMPRESS = 15;

    private static void refuseCompressedPages(CheckpointDir dir, inventory_entry inventory) throws CheckpointException {
        var field = inventory.getUnknownFields().getField(INVENTORY_COMPRESS);
        if (field != null && field.getVarintList().stream().anyMatch(mode -> mode != 0)) {
            throw new CheckpointException(dir.display("inventory.img"), "the pages are compressed (criu dump "
                    + "--compress, mode " + field.getVarintList().get(0) + "): compressed pages are not supported; "
                    + "`crit decompress` the checkpoint first");
        }
    }

    public CheckpointDir dir() {
        return dir;
    }

    public Optional<inventory_entry> inventory() {
        return Optional.ofNullable(inventory);
    }

    /** The processes as pstree.img lists them, parents before children. */
    public List<TreeEntry> tree() {
        return tree;
    }

    /** Every process, read from its images; fails on the first that cannot be read. */
    public List<Process> processes() throws IOException {
        List<Process> out = new ArrayList<>();
        for (TreeEntry e : tree) {
            out.add(process(e));
        }
        return out;
    }

    /**
     * Builds the schema descriptors that reading a process needs (core_entry's pulls in those of
     * every architecture: 35 ms of a start with the launcher's class archive, 150 ms without), so
     * that a caller with a CPU to spare can have them built while it does something else. Reading
     * a process builds them anyway.
     */
    public static void prepareSchemas() {
        core_entry.getDescriptor();
        mm_entry.getDescriptor();
    }

    /** The process {@code pid}, if the tree has it. */
    public Optional<Process> process(int pid) throws IOException {
        for (TreeEntry e : tree) {
            if (e.pid() == pid) {
                return Optional.of(process(e));
            }
        }
        return Optional.empty();
    }

    /** The process of a tree entry, read from its images the first time. */
    public synchronized Process process(TreeEntry entry) throws IOException {
        Process p = loaded.get(entry.pid());
        if (p == null) {
            p = loadProcess(dir, entry, files);
            loaded.put(entry.pid(), p);
        }
        return p;
    }

    public Map<Integer, MappedFile> files() {
        return files;
    }

    /**
     * Where the saved pages of {@code process} are, in pages of {@code pageSize} bytes. Every
     * saved page must lie in one of its VMAs.
     */
    public PageIndex pages(Process process, long pageSize) throws IOException {
        String name = "pagemap-" + process.pid() + ".img";
        PageIndex index = PageIndex.load(dir, name, pageSize);
        List<Vma> vmas = process.vmas();
        int v = 0;
        for (int r = 0; r < index.runs(); r++) {
            long address = index.start(r);
            while (Long.compareUnsigned(address, index.end(r)) < 0) {
                while (v < vmas.size() && Long.compareUnsigned(vmas.get(v).end(), address) <= 0) {
                    v++;
                }
                if (v == vmas.size() || Long.compareUnsigned(vmas.get(v).start(), address) > 0) {
                    throw new ImageFormatException(dir.display(name), index.entryOffset(r), String.format(
                            "saved page 0x%x is outside every VMA of mm-%d.img", address, process.pid()));
                }
                address = Long.compareUnsigned(vmas.get(v).end(), index.end(r)) < 0 ? vmas.get(v).end() : index.end(r);
            }
        }
        return index;
    }

    /** Where the saved pages of a shmem object are; empty when CRIU saved none. */
    public PageIndex shmemPages(long shmid, long pageSize) throws IOException {
        String name = "pagemap-shmem-" + Long.toUnsignedString(shmid) + ".img";
        return dir.has(name) ? PageIndex.load(dir, name, pageSize) : PageIndex.empty(pageSize);
    }

    private static Process loadProcess(CheckpointDir dir, TreeEntry entry, Map<Integer, MappedFile> files)
            throws IOException {
        int pid = entry.pid();
        List<Integer> tids = new ArrayList<>(entry.threads());
        // the main thread first, as the kernel writes it; a zombie's thread list is [0]
        tids.removeIf(t -> t == pid || t == 0);
        tids.add(0, pid);
        List<Thread> threads = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (int tid : tids) {
            String name = "core-" + Integer.toUnsignedString(tid) + ".img";
            if (tid != pid && !dir.has(name)) {
                throw new CheckpointException(dir.display(name), "missing, though pstree.img lists thread " + tid);
            }
            var core = dir.readEntry(name, core_entry.class);
            var unknown = UnknownFields.of(core, core_entry.getDescriptor());
            if (!unknown.isEmpty()) {
                warnings.add(UnknownFields.warning(dir.display(name), unknown));
            }
            threads.add(new Thread(tid, core));
        }
        String mmName = "mm-" + Integer.toUnsignedString(pid) + ".img";
        mm_entry mm = null;
        List<Vma> vmas = List.of();
        if (dir.has(mmName)) {
            mm = dir.readEntry(mmName, mm_entry.class);
            var unknown = UnknownFields.of(mm, mm_entry.getDescriptor());
            if (!unknown.isEmpty()) {
                warnings.add(UnknownFields.warning(dir.display(mmName), unknown));
            }
            vmas = new VmaReader(dir, pid, threads.get(0).core(), mm, files, warnings).vmas();
        }
        return new Process(pid, entry.ppid(), entry.pgid(), entry.sid(), threads, mm, vmas, warnings);
    }

    /** Regular files and memfds by file id: from files.img, or reg-files.img of older CRIU. */
    private static Map<Integer, MappedFile> loadFiles(CheckpointDir dir) throws IOException {
        Map<Long, memfd_inode_entry> memfds = new HashMap<>();
        if (dir.has("memfd.img")) {
            for (ImageEntry e : dir.read("memfd.img", "MEMFD_INODE").entries()) {
                var inode = (memfd_inode_entry) e.message();
                memfds.put(inode.getInodeId(), inode);
            }
        }
        Map<Integer, MappedFile> files = new HashMap<>();
        if (dir.has("files.img")) {
            for (ImageEntry e : dir.read("files.img", "FILES").entries()) {
                var file = (file_entry) e.message();
                if (file.getType() == fd_types.REG && file.hasReg()) {
                    files.put(file.getId(), regular(file.getReg()));
                } else if (file.getType() == fd_types.MEMFD && file.hasMemfd()) {
                    var inode = memfds.get(Integer.toUnsignedLong(file.getMemfd().getInodeId()));
                    if (inode == null) {
                        throw new ImageFormatException(dir.display("files.img"), e.offset(), "memfd file "
                                + file.getId() + " names inode " + file.getMemfd().getInodeId()
                                + ", which memfd.img does not have");
                    }
                    files.put(file.getId(), new MappedFile(file.getId(), MappedFile.Kind.MEMFD, inode.getName(),
                            inode.getSize(), inode.getMode(), Integer.toUnsignedLong(inode.getShmid())));
                }
            }
        }
        if (dir.has("reg-files.img")) {
            for (ImageEntry e : dir.read("reg-files.img", "REG_FILES").entries()) {
                var reg = (reg_file_entry) e.message();
                files.putIfAbsent(reg.getId(), regular(reg));
            }
        }
        if (dir.has("remap-fpath.img")) {
            for (ImageEntry e : dir.read("remap-fpath.img", "REMAP_FPATH").entries()) {
                var remap = (remap_file_path_entry) e.message();
                MappedFile file = files.get(remap.getOrigId());
                if (file != null) {
                    files.put(file.id(), file.deleted(deleted(dir, remap, files)));
                }
            }
        }
        return files;
    }

    /** Bit 31 of remap_id said "ghost" before remap_type existed (criu/files-reg.c). */
    private static final int REMAP_GHOST = 1 << 31;

    private static MappedFile.Deleted deleted(CheckpointDir dir, remap_file_path_entry remap,
                                              Map<Integer, MappedFile> files) throws IOException {
        int id = remap.getRemapId();
        remap_type type = remap.hasRemapType() ? remap.getRemapType()
                : (id & REMAP_GHOST) != 0 ? remap_type.GHOST : remap_type.LINKED;
        id &= ~REMAP_GHOST;
        if (type == remap_type.GHOST) {
            String name = "ghost-file-" + Integer.toHexString(id) + ".img";
            if (dir.has(name)) {
                return new MappedFile.Deleted(GhostFile.read(dir.file(name), dir.display(name)), null);
            }
        } else if (type == remap_type.LINKED && files.containsKey(id)) {
            return new MappedFile.Deleted(null, files.get(id).path());
        }
        return new MappedFile.Deleted(null, null);
    }

    private static MappedFile regular(reg_file_entry reg) {
        return new MappedFile(reg.getId(), MappedFile.Kind.REGULAR, reg.getName(),
                reg.hasSize() ? reg.getSize() : -1, reg.getMode(), -1);
    }
}

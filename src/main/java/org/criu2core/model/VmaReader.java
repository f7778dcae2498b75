package org.criu2core.model;

import static org.criu2core.model.VmaStatus.VMA_ANON_SHARED;
import static org.criu2core.model.VmaStatus.VMA_AREA_AIORING;
import static org.criu2core.model.VmaStatus.VMA_AREA_GUARD;
import static org.criu2core.model.VmaStatus.VMA_AREA_SOCKET;
import static org.criu2core.model.VmaStatus.VMA_AREA_SYSVIPC;
import static org.criu2core.model.VmaStatus.VMA_FILE_PRIVATE;
import static org.criu2core.model.VmaStatus.VMA_FILE_SHARED;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.Core.task_kobj_ids_entry;
import org.criu2core.image.proto.IpcShm.ipc_shm_entry;
import org.criu2core.image.proto.Mm.mm_entry;
import org.criu2core.image.proto.Vma.vma_entry;

/**
 * The VMAs of mm-PID.img as the model has them: each with what it maps, and with the guard
 * ranges CRIU records as VMA_AREA_GUARD entries (which are not areas) folded into the VMAs they
 * lie in.
 */
final class VmaReader {
    /** Where mm_entry's message starts in mm-PID.img: after the two magic words and the size word. */
    private static final long MM_ENTRY_OFFSET = 8;

    private final CheckpointDir dir;
    private final int pid;
    private final core_entry mainCore;
    private final mm_entry mm;
    private final Map<Integer, MappedFile> files;
    private final List<String> warnings;
    private final String name;
    private Map<Long, Long> sysvKeys;

    VmaReader(CheckpointDir dir, int pid, core_entry mainCore, mm_entry mm, Map<Integer, MappedFile> files,
              List<String> warnings) {
        this.dir = dir;
        this.pid = pid;
        this.mainCore = mainCore;
        this.mm = mm;
        this.files = files;
        this.warnings = warnings;
        this.name = dir.display("mm-" + Integer.toUnsignedString(pid) + ".img");
    }

    List<Vma> vmas() throws IOException {
        List<vma_entry> areas = new ArrayList<>(mm.getVmasCount());
        List<Integer> numbers = new ArrayList<>(mm.getVmasCount());
        List<Vma.Range> guards = new ArrayList<>();
        long previousEnd = 0;
        int unknownStatus = 0;
        for (int i = 0; i < mm.getVmasCount(); i++) {
            vma_entry v = mm.getVmas(i);
            if (Long.compareUnsigned(v.getStart(), v.getEnd()) >= 0) {
                throw error(i, v, "ends before it starts");
            }
            unknownStatus |= v.getStatus() & ~VmaStatus.KNOWN;
            if ((v.getStatus() & VMA_AREA_GUARD) != 0) {
                guards.add(new Vma.Range(v.getStart(), v.getEnd()));
                continue;
            }
            if (!areas.isEmpty() && Long.compareUnsigned(v.getStart(), previousEnd) < 0) {
                throw error(i, v, "overlaps or comes before the previous VMA");
            }
            previousEnd = v.getEnd();
            areas.add(v);
            numbers.add(i);
        }
        if (unknownStatus != 0) {
            warnings.add(String.format("%s: VMA status bits 0x%x (from a CRIU newer than this tool) left out", name,
                    unknownStatus));
        }
        guards.sort(Comparator.comparing(Vma.Range::start, Long::compareUnsigned));
        List<Vma> vmas = new ArrayList<>(areas.size());
        int g = 0;
        for (int k = 0; k < areas.size(); k++) {
            vma_entry v = areas.get(k);
            // guards come sorted; one may span VMAs that follow each other
            while (g < guards.size() && Long.compareUnsigned(guards.get(g).end(), v.getStart()) <= 0) {
                checkCovered(guards.get(g), areas);
                g++;
            }
            List<Vma.Range> inside = List.of();
            for (int h = g; h < guards.size() && Long.compareUnsigned(guards.get(h).start(), v.getEnd()) < 0; h++) {
                Vma.Range r = guards.get(h);
                long from = Long.compareUnsigned(r.start(), v.getStart()) > 0 ? r.start() : v.getStart();
                long to = Long.compareUnsigned(r.end(), v.getEnd()) < 0 ? r.end() : v.getEnd();
                if (inside.isEmpty()) {
                    inside = new ArrayList<>();
                }
                inside.add(new Vma.Range(from, to));
            }
            vmas.add(new Vma(v.getStart(), v.getEnd(), v.getPgoff(), v.getProt(), v.getFlags(), v.getStatus(),
                    v.getMadv(), file(numbers.get(k), v), inside));
        }
        for (; g < guards.size(); g++) {
            checkCovered(guards.get(g), areas);
        }
        return vmas;
    }

    /** PAGEMAP_SCAN reports guard pages only inside VMAs: every byte of a guard range is in one. */
    private void checkCovered(Vma.Range guard, List<vma_entry> areas) throws ImageFormatException {
        long cursor = guard.start();
        for (vma_entry v : areas) {
            if (Long.compareUnsigned(v.getEnd(), cursor) <= 0) {
                continue;
            }
            if (Long.compareUnsigned(v.getStart(), cursor) > 0) {
                break;
            }
            cursor = v.getEnd();
            if (Long.compareUnsigned(cursor, guard.end()) >= 0) {
                return;
            }
        }
        throw new ImageFormatException(name, MM_ENTRY_OFFSET, String.format(
                "guard range 0x%x-0x%x (VMA_AREA_GUARD) is not inside the VMAs", guard.start(), guard.end()));
    }

    /** What VMA number {@code i} maps, from its status: CRIU's kinds of area, each the kernel names its own way. */
    private MappedFile file(int i, vma_entry v) throws IOException {
        int status = v.getStatus();
        boolean hugetlb = (v.getFlags() & Vma.MAP_HUGETLB) != 0;
        if ((status & VMA_AREA_AIORING) != 0) {
            return MappedFile.AIO_RING;
        }
        if ((status & VMA_AREA_SOCKET) != 0) {
            return MappedFile.packetSocket((int) v.getShmid());
        }
        if ((status & VMA_AREA_SYSVIPC) != 0) {
            return MappedFile.sysv(v.getShmid(), sysvKey(i, v));
        }
        if ((status & VMA_ANON_SHARED) != 0) {
            // CRIU before 4 records MAP_SHARED anonymous memory by its shmem id alone
            return new MappedFile(-1, MappedFile.Kind.MEMFD, hugetlb ? "/anon_hugepage" : MappedFile.DEV_ZERO, -1, 0,
                    v.getShmid());
        }
        if ((status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) != 0) {
            MappedFile file = files.get((int) v.getShmid());
            if (file == null) {
                throw error(i, v, "maps file id " + v.getShmid() + ", which files.img does not have");
            }
            return file;
        }
        return hugetlb ? MappedFile.ANON_HUGEPAGE : null;
    }

    /** The key of the SysV segment a VMA maps, from ipcns-shm-NS.img of the process's IPC namespace. */
    private long sysvKey(int i, vma_entry v) throws IOException {
        if (sysvKeys == null) {
            sysvKeys = new HashMap<>();
            String ids = "ids-" + Integer.toUnsignedString(pid) + ".img";
            task_kobj_ids_entry kobj = dir.has(ids) ? dir.readEntry(ids, task_kobj_ids_entry.class)
                    : mainCore.hasIds() ? mainCore.getIds() : null;
            if (kobj != null && kobj.hasIpcNsId()) {
                String shm = "ipcns-shm-" + Integer.toUnsignedString(kobj.getIpcNsId()) + ".img";
                if (dir.has(shm)) {
                    for (ImageEntry e : dir.read(shm, "IPCNS_SHM").entries()) {
                        var segment = (ipc_shm_entry) e.message();
                        sysvKeys.put(Integer.toUnsignedLong(segment.getDesc().getId()),
                                Integer.toUnsignedLong(segment.getDesc().getKey()));
                    }
                }
            }
        }
        Long key = sysvKeys.get(v.getShmid());
        if (key == null) {
            throw new CheckpointException(name, String.format("VMA %d (0x%x-0x%x) maps SysV segment %d, which the "
                    + "IPC namespace's ipcns-shm image does not have", i, v.getStart(), v.getEnd(), v.getShmid()));
        }
        return key;
    }

    private ImageFormatException error(int i, vma_entry v, String what) {
        return new ImageFormatException(name, MM_ENTRY_OFFSET, String.format("VMA %d (0x%x-0x%x) %s", i,
                v.getStart(), v.getEnd(), what));
    }
}

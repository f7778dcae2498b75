package org.criu2core.hostile;

import com.google.protobuf.Message;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageReader;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Fdinfo.fd_types;
import org.criu2core.image.proto.Fdinfo.file_entry;
import org.criu2core.image.proto.Fown.fown_entry;
import org.criu2core.image.proto.Mm.mm_entry;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.criu2core.image.proto.Pagemap.pagemap_head;
import org.criu2core.image.proto.Regfile.reg_file_entry;
import org.criu2core.image.proto.Vma.vma_entry;
import org.criu2core.model.VmaStatus;

/**
 * The images of a real case, copied to be made hostile: files added to files.img, memory areas
 * to mm-PID.img, saved pages to the pagemap and its pages file, each written back as CRIU frames
 * its images.
 */
final class CaseImages {
    static final long PAGE = 4096;
    static final int PROT_READ = 1;
    static final int MAP_PRIVATE = 0x2;

    private final Path dir;
    private final int pid;

    private CaseImages(Path dir, int pid) {
        this.dir = dir;
        this.pid = pid;
    }

    /** A copy of {@code images} (a real case's images/ folder) in {@code target}, for process {@code pid}. */
    static CaseImages copy(Path images, Path target, int pid) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(images)) {
            for (Path p : files.toList()) {
                if (Files.isRegularFile(p)) {
                    Files.copy(p, target.resolve(p.getFileName()));
                }
            }
        }
        return new CaseImages(target, pid);
    }

    Path dir() {
        return dir;
    }

    /**
     * The real threads case copied into {@code target}, its executable renamed to a file of the
     * host's made at {@code secret}: ELF magic, then {@code marker} over and over, one page. What
     * reads mapped files outside the root would put the marker into a core.
     */
    static CaseImages threadsMappingAHostFile(Path target, Path secret, byte[] marker) throws IOException {
        byte[] page = new byte[(int) PAGE];
        for (int i = 0; i < page.length; i++) {
            page[i] = marker[i % marker.length];
        }
        System.arraycopy(new byte[] {0x7f, 'E', 'L', 'F'}, 0, page, 0, 4);
        Files.createDirectories(secret.getParent());
        Files.write(secret, page);
        var images = copy(org.criu2core.Fixtures.checkpoint("threads").resolve("images"), target, 8229);
        Path files = images.dir().resolve("files.img");
        Image read = ImageReader.read(files);
        List<ImageEntry> entries = new ArrayList<>();
        for (var e : read.entries()) {
            var f = (file_entry) e.message();
            if (f.hasReg() && f.getReg().getName().equals("/opt/criu2core/bin/threads")) {
                f = f.toBuilder().setReg(f.getReg().toBuilder().setName(secret.toAbsolutePath().toString())
                        .setMode(0100755)).build();
            }
            entries.add(new ImageEntry(f));
        }
        write(files, read.magic(), entries);
        return images;
    }

    /** Adds a regular file to files.img; returns its id. */
    int addFile(String name, int mode, long size) throws IOException {
        return addFiles(List.of(name), mode, size)[0];
    }

    /** Adds regular files to files.img, in one rewrite; returns their ids. */
    int[] addFiles(List<String> names, int mode, long size) throws IOException {
        Path image = dir.resolve("files.img");
        Image files = ImageReader.read(image);
        int id = 1;
        for (ImageEntry e : files.entries()) {
            id = Math.max(id, ((file_entry) e.message()).getId() + 1);
        }
        List<ImageEntry> entries = new ArrayList<>(files.entries());
        int[] ids = new int[names.size()];
        for (int i = 0; i < ids.length; i++, id++) {
            var reg = reg_file_entry.newBuilder().setId(id).setFlags(0).setPos(0)
                    .setFown(fown_entry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0))
                    .setName(names.get(i)).setSize(size).setMode(mode);
            entries.add(new ImageEntry(file_entry.newBuilder().setType(fd_types.REG).setId(id).setReg(reg).build()));
            ids[i] = id;
        }
        write(image, files.magic(), entries);
        return ids;
    }

    /** A private, readable mapping of file {@code id} at file offset 0. */
    static vma_entry fileVma(long start, long end, int id) {
        return vma_entry.newBuilder().setStart(start).setEnd(end).setPgoff(0).setShmid(id).setProt(PROT_READ)
                .setFlags(MAP_PRIVATE).setStatus(VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_FILE_PRIVATE).setFd(-1)
                .build();
    }

    /** Adds memory areas to mm-PID.img, keeping them in address order. */
    void addVmas(List<vma_entry> vmas) throws IOException {
        rewrite("mm-" + pid + ".img", m -> {
            var mm = ((mm_entry) m).toBuilder();
            List<vma_entry> all = new ArrayList<>(mm.getVmasList());
            all.addAll(vmas);
            all.sort(Comparator.comparing(vma_entry::getStart, Long::compareUnsigned));
            return mm.clearVmas().addAllVmas(all).build();
        });
    }

    /** The largest gap between the process's memory areas below 2^47: [start, end). */
    long[] largestGap() throws IOException {
        var mm = (mm_entry) ImageReader.read(dir.resolve("mm-" + pid + ".img")).entries().get(0).message();
        long[] best = {0, 0};
        long previous = 1L << 16;
        for (vma_entry v : mm.getVmasList()) {
            if (Long.compareUnsigned(v.getStart(), 1L << 47) >= 0) {
                break;
            }
            if (v.getStart() - previous > best[1] - best[0]) {
                best = new long[] {previous, v.getStart()};
            }
            previous = Math.max(previous, v.getEnd());
        }
        return best;
    }

    /**
     * Saves one page at {@code address}: a pagemap entry in address order, and its bytes spliced
     * into the pages file where the entries before it end.
     */
    void savePage(long address, byte[] content) throws IOException {
        Path pagemap = dir.resolve("pagemap-" + pid + ".img");
        Image image = ImageReader.read(pagemap);
        var head = (pagemap_head) image.entries().get(0).message();
        Path pages = dir.resolve("pages-" + head.getPagesId() + ".img");
        List<ImageEntry> entries = new ArrayList<>(image.entries());
        long offset = 0;
        int at = entries.size();
        for (int i = 1; i < entries.size(); i++) {
            var e = (pagemap_entry) entries.get(i).message();
            if (Long.compareUnsigned(e.getVaddr(), address) > 0) {
                at = i;
                break;
            }
            if ((e.getFlags() & 4) != 0) { // PE_PRESENT
                offset += (e.hasNrPages() ? e.getNrPages() : e.getCompatNrPages()) * PAGE;
            }
        }
        entries.add(at, new ImageEntry(pagemap_entry.newBuilder().setVaddr(address).setCompatNrPages(0).setNrPages(1)
                .setFlags(4).build()));
        write(pagemap, image.magic(), entries);
        byte[] old = Files.readAllBytes(pages);
        byte[] page = java.util.Arrays.copyOf(content, (int) PAGE);
        byte[] spliced = new byte[old.length + page.length];
        System.arraycopy(old, 0, spliced, 0, (int) offset);
        System.arraycopy(page, 0, spliced, (int) offset, page.length);
        System.arraycopy(old, (int) offset, spliced, (int) offset + page.length, old.length - (int) offset);
        Files.write(pages, spliced);
    }

    /** Rewrites the first entry of an image. */
    void rewrite(String name, UnaryOperator<Message> change) throws IOException {
        Path image = dir.resolve(name);
        Image read = ImageReader.read(image);
        List<ImageEntry> entries = new ArrayList<>(read.entries());
        entries.set(0, new ImageEntry(change.apply(entries.get(0).message())));
        write(image, read.magic(), entries);
    }

    private static void write(Path image, String magic, List<ImageEntry> entries) throws IOException {
        Files.write(image, ImageWriter.toBytes(new Image(magic, entries)));
    }
}

package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each kind of memory area the kernel's filter treats in its own way (fs/coredump.c
 * vma_dump_size), on fixtures/synthetic/memkinds: one process with an area of each kind, made
 * with `criu2core encode`. The real case, ../shared/checkpoints/vmakinds, is compared with the
 * kernel's core in KernelTruthTest; this covers what it cannot show: other filters, uprobes, a
 * packet socket's ring, punched pages files and images from a newer CRIU.
 */
class MemoryKindsTest {
    private static final long PAGE = 4096;
    private static final long ANON = 0x10000000L;
    private static final long ANON_GUARDED = 0x10010000L;
    private static final long FILE_GUARDED = 0x10020000L;
    private static final long DONTDUMP = 0x10030000L;
    private static final long HUGE_PRIVATE = 0x10100000L;
    private static final long HUGE_SHARED = 0x10400000L;
    private static final long UPROBES = 0x10700000L;
    private static final long PACKET_RING = 0x10800000L;
    private static final long AIO_RING = 0x10900000L;
    private static final long SYSV = 0x10a00000L;
    private static final long GHOST_SHARED = 0x10b00000L;
    private static final long LINKED_SHARED = 0x10c00000L;

    @TempDir
    Path tmp;

    private Path images;
    private Path root;

    private Path encode() throws IOException {
        return encode("images");
    }

    private Path encode(String folder) throws IOException {
        images = Fixtures.encodeSynthetic("memkinds", tmp.resolve(folder));
        root = Files.createDirectories(tmp.resolve(folder + "-root/data")).getParent();
        write(root.resolve("data/plain.dat"), "PLAIN-FILE", 4 * PAGE);
        write(root.resolve("data/shared.dat"), "SHARED-LINKED-FILE", 2 * PAGE);
        return images;
    }

    private static void write(Path file, String head, long size) throws IOException {
        try (var f = new RandomAccessFile(file.toFile(), "rw")) {
            f.write(head.getBytes(StandardCharsets.US_ASCII));
            f.setLength(size);
        }
    }

    private KernelCores.Run convert(long filter) {
        return KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve("out-" + filter).toString(),
                "--root", root.toString(), "--filter", "0x" + Long.toHexString(filter));
    }

    private CoreFile core(long filter) throws IOException {
        return CoreFile.open(tmp.resolve("out-" + filter).resolve("core.400"));
    }

    /** p_filesz by p_vaddr. */
    private static Map<Long, Long> fileSizes(CoreFile core) {
        Map<Long, Long> sizes = new LinkedHashMap<>();
        for (var s : core.loads()) {
            sizes.put(s.vaddr(), s.fileSize());
        }
        return sizes;
    }

    /** What each filter keeps of each area, as the kernel's vma_dump_size decides. */
    @ParameterizedTest(name = "filter 0x{0}")
    @ValueSource(strings = {"13", "33", "73", "3b"})
    void eachFilterKeepsWhatTheKernelKeeps(String hex) throws IOException {
        long filter = Long.parseLong(hex, 16);
        encode();
        var run = convert(filter);
        assertEquals(0, run.status(), run.err());
        boolean hugePrivate = (filter & 1 << DumpFilter.HUGETLB_PRIVATE) != 0;
        boolean hugeShared = (filter & 1 << DumpFilter.HUGETLB_SHARED) != 0;
        boolean mappedShared = (filter & 1 << DumpFilter.MAPPED_SHARED) != 0;
        Map<Long, Long> expected = new LinkedHashMap<>();
        expected.put(ANON, 4 * PAGE);                // a saved page: it has an anon_vma
        expected.put(ANON_GUARDED, 4 * PAGE);        // no saved page, but a guard range gives it one
        expected.put(FILE_GUARDED, 0L);              // a guard in a file mapping gives none (Linux 6.18)
        expected.put(DONTDUMP, 0L);                  // MADV_DONTDUMP, though a page was saved
        expected.put(HUGE_PRIVATE, hugePrivate ? 0x200000L : 0);  // bit 5 alone
        expected.put(HUGE_SHARED, hugeShared ? 0x200000L : 0);    // bit 6 alone
        expected.put(UPROBES, PAGE);                 // a named special mapping: always whole
        expected.put(PACKET_RING, mappedShared ? 4 * PAGE : 0);   // a socket keeps its link: bit 3
        expected.put(AIO_RING, mappedShared ? 3 * PAGE : 0);      // so does the AIO ring's inode
        expected.put(SYSV, 4 * PAGE);                // shmem without a link: anonymous shared, bit 1
        expected.put(GHOST_SHARED, 2 * PAGE);        // a file unlinked while mapped: anonymous shared
        expected.put(LINKED_SHARED, mappedShared ? 2 * PAGE : 0);
        expected.put(0xfffffffdf000L, 0x21000L);     // the stack
        try (var core = core(filter)) {
            assertEquals(expected, fileSizes(core));
        }
    }

    @Test
    void bytesComeFromWhereEachKindKeepsThem() throws IOException {
        encode();
        assertEquals(0, convert(0x7b).status());
        try (var core = core(0x7b)) {
            assertMarker(core, ANON + PAGE, "ANON-PRIVATE-MARKER");
            assertMarker(core, HUGE_PRIVATE, "HUGETLB-PRIVATE-MARKER");
            assertMarker(core, HUGE_SHARED, "HUGETLB-SHARED-MARKER");   // pagemap-shmem of the memfd
            assertMarker(core, AIO_RING, "AIO-RING-MARKER");            // the process's own pagemap
            assertMarker(core, SYSV, "SYSV-SHM-MARKER");                // pagemap-shmem of the SysV id
            assertMarker(core, GHOST_SHARED, "GHOST-SHARED-FILE page 0"); // the ghost image, never the name
            assertMarker(core, GHOST_SHARED + PAGE, "GHOST-SHARED-FILE page 1");
            assertMarker(core, LINKED_SHARED, "SHARED-LINKED-FILE");    // under --root
            // what nobody saved is a hole: guard pages, the uprobes page, the packet ring
            for (long hole : new long[] {ANON + 3 * PAGE, ANON_GUARDED + PAGE, UPROBES, PACKET_RING,
                                         HUGE_PRIVATE + PAGE, SYSV + PAGE}) {
                assertArrayEquals(new byte[(int) PAGE], core.bytesAt(hole, (int) PAGE), Long.toHexString(hole));
            }
        }
    }

    private static void assertMarker(CoreFile core, long address, String marker) throws IOException {
        byte[] want = marker.getBytes(StandardCharsets.US_ASCII);
        byte[] got = core.bytesAt(address, want.length);
        assertTrue(got != null && Arrays.equals(want, got), "0x" + Long.toHexString(address) + " should hold " + marker
                + ", holds " + (got == null ? "nothing" : new String(got, StandardCharsets.US_ASCII)));
    }

    /** NT_FILE names every area with a file as the kernel's d_path does. */
    @Test
    void ntFileNamesEachKindAsTheKernelDoes() throws IOException {
        encode();
        assertEquals(0, convert(0x33).status());
        try (var core = core(0x33)) {
            Map<Long, String> names = new LinkedHashMap<>();
            for (var f : core.mappedFiles()) {
                names.put(f.start(), f.name());
            }
            Map<Long, String> expected = new LinkedHashMap<>();
            expected.put(FILE_GUARDED, "/data/plain.dat");
            expected.put(HUGE_PRIVATE, "/anon_hugepage (deleted)");
            expected.put(HUGE_SHARED, "/anon_hugepage (deleted)"); // a memfd name with a / is not /memfd:
            expected.put(PACKET_RING, "socket:[packet]");          // the images have no socket inode
            expected.put(AIO_RING, "/[aio] (deleted)");
            expected.put(SYSV, "/SYSV564b0008 (deleted)");         // the key, from ipcns-shm-11.img
            expected.put(GHOST_SHARED, "/data/ghost.dat (deleted)");
            expected.put(LINKED_SHARED, "/data/shared.dat");
            assertEquals(expected, names);
        }
    }

    /** criu dedup punches holes in a pages file whose pagemap still says the pages are there. */
    @Test
    void punchedPagesAreHolesAndAWarning() throws IOException {
        encode();
        Path pages = images.resolve("pages-1.img");
        byte[] bytes = Files.readAllBytes(pages);
        Files.delete(pages);
        try (var f = new RandomAccessFile(pages.toFile(), "rw")) {
            f.seek(PAGE); // the first page, ANON's marker, left a hole
            f.write(bytes, (int) PAGE, bytes.length - (int) PAGE);
        }
        try (var f = org.criu2core.sys.OpenFile.openRegular(pages, pages.toString())) {
            org.junit.jupiter.api.Assumptions.assumeTrue(f.mayHaveHoles(),
                    "skipped: the temporary folder's filesystem keeps no holes");
        }
        var run = convert(0x33);
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().contains("warning: " + pages + ": holes where 1 saved page between 0x10001000 and "
                + "0x10002000 should be: they read as zeros"), run.err());
        assertTrue(run.err().contains(", 1 warning; "), run.err());
        try (var core = core(0x33)) {
            assertArrayEquals(new byte[(int) PAGE], core.bytesAt(ANON + PAGE, (int) PAGE));
        }
    }

    private ObjectNode json(String name) throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(Fixtures.ROOT.resolve("synthetic/memkinds").resolve(name)
                .toFile());
    }

    private void encodeJson(ObjectNode json, String image) throws IOException {
        Path file = tmp.resolve(image + ".json");
        Files.writeString(file, json.toPrettyString());
        var run = KernelCores.cli("encode", "-i", file.toString(), "-o", images.resolve(image).toString());
        assertEquals(0, run.status(), run.err());
    }

    /** CRIU's --compress adds pagemap fields saying how pages are packed: refused, never misread. */
    @Test
    void compressedPagesAreRefused() throws IOException {
        encode();
        var pagemap = json("pagemap-400.json");
        ((ObjectNode) pagemap.withArray("entries").get(1)).set("6",
                new ObjectMapper().readTree("{\"varint\": [1234]}"));
        encodeJson(pagemap, "pagemap-400.img");
        var run = convert(0x33);
        assertEquals(1, run.status());
        assertTrue(run.err().contains("criu2core: " + images.resolve("pagemap-400.img") + ":"), run.err());
        assertTrue(run.err().contains("compressed pages (criu dump --compress) are not supported"), run.err());
        assertTrue(Files.notExists(tmp.resolve("out-" + 0x33).resolve("core.400")));

        encode("images-2");
        var inventory = json("inventory.json");
        ((ObjectNode) inventory.withArray("entries").get(0)).set("15",
                new ObjectMapper().readTree("{\"varint\": [2]}"));
        encodeJson(inventory, "inventory.img");
        run = convert(0x33);
        assertEquals(1, run.status());
        assertEquals("criu2core: " + images.resolve("inventory.img") + ": the pages are compressed (criu dump "
                + "--compress, mode 2): compressed pages are not supported; `crit decompress` the checkpoint first\n",
                run.err());
    }

    /** Fields and flags from a newer CRIU are warnings naming them; decode keeps them. */
    @Test
    void whatANewerCriuAddsIsAWarning() throws IOException {
        encode();
        var mm = json("mm-400.json");
        var vma = (ObjectNode) mm.withArray("entries").get(0).withArray("vmas").get(0);
        vma.set("23", new ObjectMapper().readTree("{\"varint\": [7]}"));
        vma.put("status", "VMA_AREA_REGULAR | VMA_ANON_PRIVATE | 0x4000000");
        encodeJson(mm, "mm-400.img");
        var pagemap = json("pagemap-400.json");
        ((ObjectNode) pagemap.withArray("entries").get(1)).put("flags", "PE_PRESENT | 0x40");
        encodeJson(pagemap, "pagemap-400.img");
        var run = convert(0x33);
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().contains("warning: " + images.resolve("mm-400.img") + ": field vma_entry.23 (from a CRIU "
                + "newer than this tool's schema) left out\n"), run.err());
        assertTrue(run.err().contains("warning: " + images.resolve("mm-400.img") + ": VMA status bits 0x4000000 (from "
                + "a CRIU newer than this tool) left out\n"), run.err());
        assertTrue(run.err().contains("warning: " + images.resolve("pagemap-400.img") + ": pagemap flags 0x40 (from a "
                + "CRIU newer than this tool) left out\n"), run.err());
        assertTrue(run.err().contains(", 3 warnings; "), run.err());

        var decoded = KernelCores.cli("decode", "-i", images.resolve("mm-400.img").toString(), "--pretty");
        var vmaBack = new ObjectMapper().readTree(decoded.out()).get("entries").get(0).get("vmas").get(0);
        assertEquals("{\"varint\":[7]}", vmaBack.get("23").toString());
        assertEquals("VMA_AREA_REGULAR | VMA_ANON_PRIVATE | 0x4000000", vmaBack.get("status").asText());
    }

    @Test
    void infoShowsGuardsHugePagesAndRingsByKind() throws IOException {
        encode();
        var run = KernelCores.cli("info", images.toString(), "--root", root.toString());
        assertEquals(0, run.status(), run.err());
        for (String line : List.of("  hugetlb private         1 VMAs          2.0 MiB",
                "  hugetlb shared          1 VMAs          2.0 MiB", "  aio ring                1 VMAs          0.0 MiB",
                "  packet ring             1 VMAs          0.0 MiB", "  sysv shm                1 VMAs          0.0 MiB",
                "  uprobes                 1 VMAs          0.0 MiB",
                "  guard pages 0x10003000-0x10004000 (1) in the anonymous private VMA 0x10000000-0x10004000",
                "  guard pages 0x10011000-0x10012000 (1) in the anonymous private VMA 0x10010000-0x10014000",
                "  guard pages 0x10021000-0x10022000 (1) in the file private VMA 0x10020000-0x10024000")) {
            assertTrue(run.out().contains(line + "\n"), line + " in\n" + run.out());
        }
    }

    /** PAGEMAP_SCAN reports guard pages inside VMAs only: a guard range elsewhere is a broken image. */
    @Test
    void aGuardRangeOutsideTheVmasIsRefused() throws IOException {
        encode();
        var mm = json("mm-400.json");
        var guard = (ObjectNode) mm.withArray("entries").get(0).withArray("vmas").get(13);
        guard.put("start", "0x10005000").put("end", "0x10006000");
        encodeJson(mm, "mm-400.img");
        var run = convert(0x33);
        assertEquals(1, run.status());
        assertEquals("criu2core: " + images.resolve("mm-400.img") + ":8: guard range 0x10005000-0x10006000 "
                + "(VMA_AREA_GUARD) is not inside the VMAs\n", run.err().lines().filter(l -> l.startsWith("criu2core"))
                .findFirst().orElse("") + "\n");
    }

    /**
     * The real case: decode equals crit's JSON (but for the guard entries' status, which crit 4.2
     * prints as 0x10000), encode gives back every image byte for byte, and info lists the guards.
     */
    @Test
    void theRealCaseDecodesAndShowsItsGuards() throws IOException {
        Path vmakinds = Fixtures.sharedCase("checkpoints", "vmakinds");
        var mapper = new ObjectMapper();
        try (var list = Files.list(vmakinds.resolve("decoded"))) {
            for (Path crit : list.toList()) {
                String base = crit.getFileName().toString().replace(".json", "");
                // stats-dump is the one image CRIU names without .img
                String name = Files.exists(vmakinds.resolve("images").resolve(base)) ? base : base + ".img";
                Path image = vmakinds.resolve("images").resolve(name);
                var decoded = KernelCores.cli("decode", "-i", image.toString(), "--pretty");
                assertEquals(0, decoded.status(), decoded.err());
                String expected = Files.readString(crit).replace("\"status\": \"0x10000\"",
                        "\"status\": \"VMA_AREA_GUARD\"");
                assertEquals(mapper.readTree(expected), mapper.readTree(decoded.out()), name);
                Path json = tmp.resolve(name + ".json");
                Files.writeString(json, decoded.out());
                var encoded = KernelCores.cli("encode", "-i", json.toString(), "-o", tmp.resolve(name).toString());
                assertEquals(0, encoded.status(), encoded.err());
                assertArrayEquals(Files.readAllBytes(image), Files.readAllBytes(tmp.resolve(name)), name);
            }
        }
        var info = KernelCores.cli("info", vmakinds.resolve("images").toString(), "--root",
                vmakinds.resolve("root").toString());
        assertEquals(0, info.status(), info.err());
        for (String line : List.of(
                "  guard pages 0x100001000000-0x100001001000 (1) in the anonymous private VMA 0x100001000000-0x100001010000",
                "  guard pages 0x100001006000-0x100001008000 (2) in the anonymous private VMA 0x100001000000-0x100001010000",
                "  guard pages 0x10000f004000-0x10000f006000 (2) in the anonymous private VMA 0x10000f000000-0x10000f010000",
                "  hugetlb private         2 VMAs          6.0 MiB", "  hugetlb shared          2 VMAs          4.0 MiB",
                "  aio ring                1 VMAs          0.0 MiB", "  sysv shm                1 VMAs          0.0 MiB")) {
            assertTrue(info.out().contains(line + "\n"), line + " in\n" + info.out());
        }
    }
}

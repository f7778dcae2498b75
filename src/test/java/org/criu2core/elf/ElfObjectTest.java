package org.criu2core.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import org.criu2core.Fixtures;
import org.criu2core.image.ImageFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Executables and libraries of a root read for their identity; broken ones are one error naming the file. */
class ElfObjectTest {
    private static final Path THREADS = Fixtures.checkpoint("threads").resolve("root/opt/criu2core/bin/threads");

    @TempDir
    Path tmp;

    private static ElfObject read(Path file) throws Exception {
        try (var channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return ElfObject.read(channel, file.toString());
        }
    }

    @Test
    void theThreadsExecutable() throws Exception {
        var elf = read(THREADS);
        // readelf -n: Build ID: 30c726f355cc720c6515edaea844ea0d2fdc35f2; a PIE is ET_DYN
        assertEquals(Optional.of("30c726f355cc720c6515edaea844ea0d2fdc35f2"), elf.buildId());
        assertEquals(3, elf.type());
        assertEquals(Elf.EM_X86_64, elf.machine());
        assertTrue(elf.hasDebugInfo());
        assertTrue(elf.sections().keySet().containsAll(java.util.List.of(".text", ".symtab", ".debug_line",
                ".note.gnu.build-id")), elf.sections().keySet().toString());
    }

    @Test
    void aGoExecutableHasItsBuildInfoAndGoNote() throws Exception {
        Path go = Fixtures.sharedCase("checkpoints", "go").resolve("root/opt/criu2core/bin/goroutines");
        try (var channel = FileChannel.open(go, StandardOpenOption.READ)) {
            var info = ElfObject.read(channel, go.toString()).sections().get(".go.buildinfo");
            // readelf -S: .go.buildinfo at file offset 0x1d1000, 0xe0 bytes
            assertEquals(new ElfObject.Section(".go.buildinfo", 1, 0x1d1000, 0xe0), info);
            assertEquals("\u00ff Go buildinf:", new String(ElfObject.read(channel, go.toString()).bytes(info, 14),
                    StandardCharsets.ISO_8859_1));
        }
        var elf = read(go);
        assertTrue(elf.notes().stream().anyMatch(n -> n.owner().equals("Go") && n.type() == ElfObject.NT_GO_BUILD_ID));
        assertEquals(Optional.empty(), elf.buildId(), "the Go linker writes no GNU build id");
    }

    @Test
    void brokenFilesAreOneErrorNamingTheFile() throws Exception {
        byte[] whole = Files.readAllBytes(THREADS);
        Path text = Files.writeString(tmp.resolve("text"), "#!/bin/sh\necho not an ELF file\n");
        assertEquals(text + ":0: not an ELF file", assertThrows(ImageFormatException.class, () -> read(text)).getMessage());

        Path cut = Files.write(tmp.resolve("cut"), Arrays.copyOf(whole, 100));
        var e = assertThrows(ImageFormatException.class, () -> read(cut));
        assertTrue(e.getMessage().startsWith(cut + ":32: ") && e.getMessage().endsWith("do not fit in the file of 100 bytes"),
                e.getMessage());

        // the section headers are at the end of the file: cut into them
        Path noSections = Files.write(tmp.resolve("no-sections"), Arrays.copyOf(whole, whole.length - 10));
        e = assertThrows(ImageFormatException.class, () -> read(noSections));
        assertTrue(e.getMessage().startsWith(noSections + ":"), e.getMessage());

        // a section that claims more bytes than the file has
        var ehdr = ByteBuffer.wrap(whole).order(ByteOrder.LITTLE_ENDIAN);
        long shoff = ehdr.getLong(40);
        byte[] lying = whole.clone();
        // section 1's sh_size (Elf64_Shdr: 64 bytes each, sh_size at 32)
        ByteBuffer.wrap(lying).order(ByteOrder.LITTLE_ENDIAN).putLong((int) shoff + 64 + 32, 1L << 40);
        Path lies = Files.write(tmp.resolve("lies"), lying);
        e = assertThrows(ImageFormatException.class, () -> read(lies));
        assertTrue(e.getMessage().startsWith(lies + ":" + (shoff + 64) + ": section 1: 1099511627776 bytes at offset"),
                e.getMessage());

        // a note whose size passes its segment
        Path notes = tmp.resolve("notes");
        byte[] badNote = whole.clone();
        int at = indexOf(whole, "GNU\0".getBytes(StandardCharsets.US_ASCII)) - 12;
        ByteBuffer.wrap(badNote).order(ByteOrder.LITTLE_ENDIAN).putInt(at + 4, 0x7fffffff);
        Files.write(notes, badNote);
        e = assertThrows(ImageFormatException.class, () -> read(notes));
        assertTrue(e.getMessage().contains("note of 2147483647 bytes passes the end of the note segment"), e.getMessage());
    }

    private static int indexOf(byte[] in, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= in.length; i++) {
            for (int k = 0; k < what.length; k++) {
                if (in[i + k] != what[k]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}

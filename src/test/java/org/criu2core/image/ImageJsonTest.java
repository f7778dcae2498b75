package org.criu2core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.criu2core.image.proto.Fh;
import org.criu2core.image.proto.Fown;
import org.criu2core.image.proto.SkInet;
import org.criu2core.image.proto.SkOpts;
import org.criu2core.image.proto.SkUnix;
import org.criu2core.image.proto.Vma;
import org.junit.jupiter.api.Test;

/** The crit conventions that the real fixtures do not exercise. */
class ImageJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String pretty(String magic, com.google.protobuf.Message m) {
        return PythonJson.write(ImageJson.toJson(new Image(magic, List.of(new ImageEntry(m))), true), false);
    }

    private static com.google.protobuf.Message back(String magic, String json) throws Exception {
        return ImageJson.fromJson(JSON.readTree(json), "t.json").entries().get(0).message();
    }

    @Test
    void unknownFlagBitsPrintAsHexAndParseBack() throws Exception {
        var vma = Vma.vma_entry.newBuilder().setStart(0x1000).setEnd(0x2000).setPgoff(0).setShmid(0)
                .setProt(0x1 | 0x8).setFlags(0x2).setStatus(0).setFd(-1).build();
        String json = pretty("VMAS", vma);
        assertEquals("{\"magic\": \"VMAS\", \"entries\": [{\"start\": \"0x1000\", \"end\": \"0x2000\", \"pgoff\": 0, "
                + "\"shmid\": 0, \"prot\": \"PROT_READ | 0x8\", \"flags\": \"MAP_PRIVATE\", \"status\": \"\", "
                + "\"fd\": -1}]}", json);
        assertEquals(vma, back("VMAS", json));
    }

    @Test
    void oldStyleDeviceNumbersAndDicts() throws Exception {
        // makedev(8, 0x12345) in glibc's encoding
        int dev = (0x45) | (8 << 8) | (0x123 << 20);
        var irmap = Fh.irmap_cache_entry.newBuilder().setDev(dev).setInode(5).setPath("/x").build();
        String json = pretty("IRMAP_CACHE", irmap);
        assertEquals("{\"magic\": \"IRMAP_CACHE\", \"entries\": [{\"dev\": \"8:74565\", \"inode\": 5, \"path\": \"/x\"}]}",
                json);
        assertEquals(irmap, back("IRMAP_CACHE", json));
    }

    @Test
    void socketAddressesAndNames() throws Exception {
        var fown = Fown.fown_entry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
        var opts = SkOpts.sk_opts_entry.newBuilder().setSoSndbuf(1).setSoRcvbuf(2).setSoSndTmoSec(0)
                .setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0).build();
        var inet = SkInet.inet_sk_entry.newBuilder().setId(1).setIno(2).setFamily(10).setType(1).setProto(6)
                .setState(10).setSrcPort(80).setDstPort(0).setFlags(0).setBacklog(5)
                // ::1 and fe80::1:2, each word as the kernel keeps it in memory
                .addAllSrcAddr(List.of(0, 0, 0, 0x01000000)).addAllDstAddr(List.of(0x80fe, 0, 0, 0x02000100))
                .setFown(fown).setOpts(opts).build();
        String json = PythonJson.write(ImageJson.toJson(new Image("INETSK", List.of(new ImageEntry(inet))), true), true);
        var node = JSON.readTree(json).get("entries").get(0);
        assertEquals("INET6", node.get("family").asText());
        assertEquals("LISTEN", node.get("state").asText());
        assertEquals("[\"::1\"]", node.get("src_addr").toString());
        assertEquals("[\"fe80::1:2\"]", node.get("dst_addr").toString());
        assertEquals(inet, back("INETSK", json));

        var unix = SkUnix.unix_sk_entry.newBuilder().setId(1).setIno(2).setType(1).setState(10).setFlags(0)
                .setUflags(0).setBacklog(0).setPeer(0).setFown(fown).setOpts(opts)
                .setName(com.google.protobuf.ByteString.copyFrom(new byte[] {0, 'a', '=', 'b'})).build();
        String unixJson = pretty("UNIXSK", unix);
        assertEquals("=00a=3Db", JSON.readTree(unixJson).get("entries").get(0).get("name").asText());
        assertEquals(unix, back("UNIXSK", unixJson));
    }

    @Test
    void pythonStringEscapes() {
        var node = JSON.createObjectNode().put("k", "a\"b\\\n\u0001é");
        assertEquals("{\"k\": \"a\\\"b\\\\\\n\\u0001\\u00e9\"}", PythonJson.write(node, false));
    }

    @Test
    void encodingRejectsWhatCritWouldNot() {
        var e = assertThrows(CheckpointException.class, () -> back("PSTREE",
                "{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 1}]}"));
        assertEquals("t.json: entry 0: missing required fields ppid, pgid, sid", e.getMessage());
        var magic = assertThrows(CheckpointException.class, () -> back("X", "{\"magic\": \"NOPE\", \"entries\": []}"));
        assertEquals("t.json: \"magic\" is \"NOPE\": not a kind of image criu2core has a schema for", magic.getMessage());
        var extra = assertThrows(CheckpointException.class, () -> back("PIPES_DATA",
                "{\"magic\": \"PIPES_DATA\", \"entries\": [{\"pipe_id\": 1, \"bytes\": 3, \"extra\": \"QQ==\"}]}"));
        assertEquals("t.json: entry 0: \"extra\" holds 1 bytes, the entry says 3", extra.getMessage());
    }

    @Test
    void base64LinesAreAsPythonWritesThem() throws Exception {
        byte[] data = new byte[100];
        var entry = org.criu2core.image.proto.PipeData.pipe_data_entry.newBuilder().setPipeId(1).setBytes(100).build();
        var image = new Image("PIPES_DATA", List.of(new ImageEntry(entry, data, -1)));
        String extra = ImageJson.toJson(image, false).get("entries").get(0).get("extra").asText();
        assertEquals("A".repeat(76) + "\n" + "A".repeat(58) + "==\n", extra);
        assertArrayEquals(ImageWriter.toBytes(image),
                ImageWriter.toBytes(ImageJson.fromJson(ImageJson.toJson(image, false), "t")));
    }
}

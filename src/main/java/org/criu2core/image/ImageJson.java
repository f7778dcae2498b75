package org.criu2core.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.criu2core.image.proto.Opts;
import org.criu2core.image.proto.Opts.CRIU_Opts;

/**
 * Images to and from the JSON crit writes ({@code crit decode}, lib/pycriu/images/pb2dict.py):
 * {@code {"magic": NAME, "entries": [...]}}, proto field names, only the fields that are set, in
 * field-number order. Pretty output also prints {@code (criu).hex} fields (and everything inside
 * a message marked so) as "0x..", flags as "A | B", dict fields as names, dev_t as "major:minor"
 * and IP addresses as text; encoding accepts both forms.
 */
public final class ImageJson {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);
    private static final int KERNEL_MINORBITS = 20;

    private ImageJson() {
    }

    public static ObjectNode toJson(Image image, boolean pretty) {
        ObjectNode root = NODES.objectNode();
        root.put("magic", image.magic());
        ArrayNode entries = root.putArray("entries");
        ImageKind kind = ImageKind.of(image.magic()).orElseThrow();
        for (ImageEntry entry : image.entries()) {
            ObjectNode node = message(entry.message(), pretty, false);
            ExtraPayload extra = kind.extraAt(entries.size());
            if (extra != null && extra.present(entry.message())) {
                node.set("extra", extraToJson(extra, entry));
            }
            entries.add(node);
        }
        return root;
    }

    /**
     * The inverse of {@link #toJson}, for a little-endian machine; {@code name} names the JSON in
     * errors.
     */
    public static Image fromJson(JsonNode root, String name) throws CheckpointException {
        return fromJson(root, name, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The inverse of {@link #toJson}, framed in {@code order}: crit's JSON does not say the byte
     * order of the image it came from, as crit writes images in its own machine's.
     */
    public static Image fromJson(JsonNode root, String name, ByteOrder order) throws CheckpointException {
        String magic = root.path("magic").asText("");
        ImageKind kind = ImageKind.of(magic).orElseThrow(() -> new CheckpointException(name,
                "\"magic\" is " + root.path("magic") + ": not a kind of image criu2core has a schema for"));
        JsonNode entries = root.path("entries");
        if (!entries.isArray()) {
            throw new CheckpointException(name, "\"entries\" is not a list");
        }
        List<ImageEntry> out = new ArrayList<>();
        for (JsonNode entry : entries) {
            String where = "entry " + out.size();
            try {
                Message.Builder builder = kind.entryAt(out.size()).newBuilderForType();
                fill(builder, entry);
                Message message = builder.buildPartial();
                if (!message.isInitialized()) {
                    throw new IllegalArgumentException("missing required fields "
                            + String.join(", ", builder.findInitializationErrors()));
                }
                ExtraPayload payload = kind.extraAt(out.size());
                byte[] extra = payload == null || !payload.present(message) ? new byte[0]
                        : extraFromJson(payload, message, entry.get("extra"));
                out.add(new ImageEntry(message, extra, -1));
            } catch (IllegalArgumentException | ClassCastException | ArithmeticException e) {
                throw new CheckpointException(name, where + ": " + e.getMessage());
            }
        }
        return new Image(magic, out, order);
    }

    // --- message to JSON (pb2dict) ---

    private static ObjectNode message(Message m, boolean pretty, boolean hex) {
        ObjectNode node = NODES.objectNode();
        var fields = new ArrayList<>(m.getAllFields().entrySet());
        fields.sort(Comparator.comparingInt(e -> e.getKey().getNumber()));
        for (Map.Entry<FieldDescriptor, Object> e : fields) {
            FieldDescriptor field = e.getKey();
            boolean fieldHex = hex || opts(field).getHex();
            if (field.isRepeated()) {
                ArrayNode array = node.putArray(field.getName());
                List<?> values = (List<?>) e.getValue();
                if (pretty && opts(field).getIpadd()) {
                    array.add(ipAddress(values));
                } else {
                    for (Object v : values) {
                        array.add(value(field, v, pretty, fieldHex));
                    }
                }
            } else {
                node.set(field.getName(), value(field, e.getValue(), pretty, fieldHex));
            }
        }
        m.getUnknownFields().asMap().forEach((number, field) -> node.set(number.toString(), unknownToJson(field)));
        return node;
    }

    /*
     * Fields the schema does not have (from a newer CRIU) are kept, which crit does not do: under
     * their number, which no field name can be, as the wire types protobuf saw:
     *   "23": {"varint": [1], "fixed32": [], "fixed64": [], "bytes": ["base64"], "group": ["base64"]}
     * with only the lists that have values.
     */
    private static final String VARINT = "varint";
    private static final String FIXED32 = "fixed32";
    private static final String FIXED64 = "fixed64";
    private static final String BYTES = "bytes";
    private static final String GROUP = "group";

    private static ObjectNode unknownToJson(UnknownFieldSet.Field field) {
        ObjectNode node = NODES.objectNode();
        if (!field.getVarintList().isEmpty()) {
            field.getVarintList().forEach(node.putArray(VARINT)::add);
        }
        if (!field.getFixed32List().isEmpty()) {
            field.getFixed32List().forEach(v -> node.withArray(FIXED32).add(Integer.toUnsignedLong(v)));
        }
        if (!field.getFixed64List().isEmpty()) {
            field.getFixed64List().forEach(v -> node.withArray(FIXED64).add(new BigInteger(Long.toUnsignedString(v))));
        }
        if (!field.getLengthDelimitedList().isEmpty()) {
            field.getLengthDelimitedList().forEach(b -> node.withArray(BYTES).add(base64(b.toByteArray())));
        }
        if (!field.getGroupList().isEmpty()) {
            field.getGroupList().forEach(g -> node.withArray(GROUP).add(base64(g.toByteArray())));
        }
        return node;
    }

    private static UnknownFieldSet.Field unknownFromJson(String number, JsonNode json) {
        if (!json.isObject()) {
            throw new IllegalArgumentException("unknown field " + number + ": expected an object of wire types");
        }
        var field = UnknownFieldSet.Field.newBuilder();
        for (var e : (Iterable<Map.Entry<String, JsonNode>>) json::fields) {
            for (JsonNode v : e.getValue()) {
                switch (e.getKey()) {
                    case VARINT -> field.addVarint(v.bigIntegerValue().longValue());
                    case FIXED32 -> field.addFixed32(v.bigIntegerValue().intValue());
                    case FIXED64 -> field.addFixed64(v.bigIntegerValue().longValue());
                    case BYTES -> field.addLengthDelimited(ByteString.copyFrom(Base64.getMimeDecoder().decode(v.asText())));
                    case GROUP -> {
                        try {
                            field.addGroup(UnknownFieldSet.parseFrom(Base64.getMimeDecoder().decode(v.asText())));
                        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
                            throw new IllegalArgumentException("unknown field " + number + ": group does not parse");
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown field " + number + ": \"" + e.getKey()
                            + "\" is not a wire type");
                }
            }
        }
        return field.build();
    }

    private static JsonNode value(FieldDescriptor field, Object v, boolean pretty, boolean hex) {
        switch (field.getJavaType()) {
            case MESSAGE:
                return message((Message) v, pretty, hex);
            case BYTE_STRING:
                byte[] bytes = ((ByteString) v).toByteArray();
                return NODES.textNode(isUnixName(field) ? QuotedPrintable.encode(bytes) : base64(bytes));
            case ENUM:
                return NODES.textNode(((com.google.protobuf.Descriptors.EnumValueDescriptor) v).getName());
            case BOOLEAN:
                return NODES.booleanNode((Boolean) v);
            case STRING:
                return NODES.textNode((String) v);
            default:
                BigInteger n = integer(field, v);
                if (pretty) {
                    CRIU_Opts o = opts(field);
                    if (hex) {
                        return NODES.textNode(pythonHex(n));
                    }
                    if (o.getDev()) {
                        return NODES.textNode(formatDev(n.longValue(), o.getOdev()));
                    }
                    if (o.hasFlags()) {
                        var flags = CritNames.FLAGS.get(o.getFlags());
                        return NODES.textNode(flags == null ? pythonHex(n) : flags.format(n.longValue()));
                    }
                    if (o.hasDict()) {
                        String name = CritNames.DICTS.get(o.getDict()).get(field.getName()).get(n.longValue());
                        if (name != null) {
                            return NODES.textNode(name);
                        }
                    }
                }
                return NODES.numberNode(n);
        }
    }

    /** The field's value as Python sees it: unsigned types never negative. */
    private static BigInteger integer(FieldDescriptor field, Object v) {
        long raw = ((Number) v).longValue();
        return switch (field.getType()) {
            case UINT32, FIXED32 -> BigInteger.valueOf(Integer.toUnsignedLong((Integer) v));
            case UINT64, FIXED64 -> raw < 0 ? BigInteger.valueOf(raw).add(TWO_64) : BigInteger.valueOf(raw);
            default -> BigInteger.valueOf(raw);
        };
    }

    private static String pythonHex(BigInteger n) {
        return n.signum() < 0 ? "-0x" + n.negate().toString(16) : "0x" + n.toString(16);
    }

    /** Python's base64.encodebytes: lines of 76 characters, each ended by a newline. */
    private static String base64(byte[] bytes) {
        if (bytes.length == 0) {
            return "";
        }
        return Base64.getMimeEncoder(76, new byte[] {'\n'}).encodeToString(bytes) + "\n";
    }

    private static String formatDev(long dev, boolean oldFormat) {
        long major;
        long minor;
        if (oldFormat) { // glibc's gnu_dev_major/minor
            major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
            minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        } else {
            major = dev >>> KERNEL_MINORBITS;
            minor = dev & ((1L << KERNEL_MINORBITS) - 1);
        }
        return major + ":" + minor;
    }

    private static long parseDev(String text, boolean oldFormat) {
        String[] parts = text.split(":");
        if (parts.length != 2) {
            throw new IllegalArgumentException("device \"" + text + "\" is not major:minor");
        }
        long major = Long.parseLong(parts[0].strip());
        long minor = Long.parseLong(parts[1].strip());
        if (oldFormat) {
            return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffL) << 12) | ((major & ~0xfffL) << 32);
        }
        return major << KERNEL_MINORBITS | minor;
    }

    /** Repeated u32 words in network order, one word IPv4 or four IPv6 (pb2dict's ipadd). */
    private static String ipAddress(List<?> words) {
        byte[] address = new byte[words.size() == 1 ? 4 : 16];
        for (int i = 0; i < address.length / 4; i++) {
            int w = (Integer) words.get(i);
            for (int b = 0; b < 4; b++) {
                address[i * 4 + b] = (byte) (w >>> (8 * b)); // stored as the raw in-memory word
            }
        }
        try {
            String text = InetAddress.getByAddress(address).getHostAddress();
            return address.length == 4 ? text : compressIpv6(address);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 or 16 bytes always make an address", e);
        }
    }

    /** RFC 5952 text, as Python's ipaddress prints it. */
    private static String compressIpv6(byte[] a) {
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = (a[2 * i] & 0xff) << 8 | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i > 1) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        var out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append(i == 0 ? "::" : ":");
                i += bestLen - 1;
                continue;
            }
            out.append(Integer.toHexString(groups[i]));
            if (i < 7) {
                out.append(':');
            }
        }
        return out.toString();
    }

    private static List<Integer> ipWords(String text) {
        byte[] address;
        try {
            address = InetAddress.getByName(text).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("\"" + text + "\" is not an IP address");
        }
        List<Integer> words = new ArrayList<>();
        for (int i = 0; i < address.length; i += 4) {
            words.add((address[i] & 0xff) | (address[i + 1] & 0xff) << 8 | (address[i + 2] & 0xff) << 16
                    | (address[i + 3] & 0xff) << 24);
        }
        return words;
    }

    // --- JSON to message (dict2pb) ---

    private static void fill(Message.Builder builder, JsonNode json) {
        if (!json.isObject()) {
            throw new IllegalArgumentException("expected an object for " + builder.getDescriptorForType().getName()
                    + ", found " + json.getNodeType());
        }
        json = formerNames(builder.getDescriptorForType().getName(), (ObjectNode) json);
        for (FieldDescriptor field : builder.getDescriptorForType().getFields()) {
            JsonNode v = json.get(field.getName());
            if (v == null) {
                continue;
            }
            if (field.isRepeated()) {
                if (!v.isArray()) {
                    throw new IllegalArgumentException(field.getName() + ": expected a list");
                }
                if (opts(field).getIpadd() && v.size() > 0 && v.get(0).isTextual()) {
                    for (int word : ipWords(v.get(0).textValue())) {
                        builder.addRepeatedField(field, word);
                    }
                    continue;
                }
                for (JsonNode element : v) {
                    builder.addRepeatedField(field, fromJsonValue(builder, field, element));
                }
            } else {
                builder.setField(field, fromJsonValue(builder, field, v));
            }
        }
        var unknown = UnknownFieldSet.newBuilder();
        for (var names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!name.isEmpty() && name.length() < 10 && name.chars().allMatch(Character::isDigit)) {
                unknown.addField(Integer.parseInt(name), unknownFromJson(name, json.get(name)));
            }
        }
        if (!unknown.build().asMap().isEmpty()) {
            builder.setUnknownFields(unknown.build());
        }
    }

    /**
     * JSON of an older crit under the names it had then. CRIU 4.2 renamed pagemap_entry's field 2
     * from nr_pages to compat_nr_pages and gave nr_pages to a new field 5; crit 4.2 always prints
     * the required compat_nr_pages, so "nr_pages" without it is field 2, as crit 3 prints it.
     */
    private static ObjectNode formerNames(String message, ObjectNode json) {
        if (message.equals("pagemap_entry") && json.has("nr_pages") && !json.has("compat_nr_pages")) {
            ObjectNode renamed = json.deepCopy();
            renamed.set("compat_nr_pages", renamed.remove("nr_pages"));
            return renamed;
        }
        return json;
    }

    private static Object fromJsonValue(Message.Builder parent, FieldDescriptor field, JsonNode v) {
        switch (field.getJavaType()) {
            case MESSAGE: {
                Message.Builder sub = parent.newBuilderForField(field);
                fill(sub, v);
                return sub.buildPartial();
            }
            case BYTE_STRING:
                String text = v.asText();
                return ByteString.copyFrom(isUnixName(field) ? QuotedPrintable.decode(text)
                        : Base64.getMimeDecoder().decode(text));
            case ENUM: {
                var type = field.getEnumType();
                var value = v.isIntegralNumber() ? type.findValueByNumber(v.intValue()) : type.findValueByName(v.asText());
                if (value == null) {
                    throw new IllegalArgumentException(field.getName() + ": " + v + " is not a " + type.getName());
                }
                return value;
            }
            case BOOLEAN:
                return v.isBoolean() ? v.booleanValue() : v.asLong() != 0;
            case STRING:
                return v.asText();
            default:
                BigInteger n = v.isTextual() ? parseIntegerText(field, v.textValue()) : v.bigIntegerValue();
                if (!v.isTextual() && !v.isIntegralNumber()) {
                    throw new IllegalArgumentException(field.getName() + ": " + v + " is not an integer");
                }
                return switch (field.getJavaType()) {
                    case INT -> n.intValue();
                    default -> n.longValue();
                };
        }
    }

    private static BigInteger parseIntegerText(FieldDescriptor field, String text) {
        CRIU_Opts o = opts(field);
        if (o.getDev()) {
            return BigInteger.valueOf(parseDev(text, o.getOdev()));
        }
        if (o.hasFlags() && CritNames.FLAGS.containsKey(o.getFlags())) {
            return BigInteger.valueOf(CritNames.FLAGS.get(o.getFlags()).parse(text));
        }
        if (o.hasDict()) {
            return CritNames.dictValue(o.getDict(), field.getName(), text);
        }
        return parsePythonInt(text);
    }

    /** Python's int(text, 0): decimal, or 0x / 0o / 0b prefixed, with an optional sign. */
    static BigInteger parsePythonInt(String text) {
        String s = text.strip().replace("_", "");
        boolean negative = s.startsWith("-");
        if (negative || s.startsWith("+")) {
            s = s.substring(1);
        }
        int radix = 10;
        String lower = s.toLowerCase();
        if (lower.startsWith("0x")) {
            radix = 16;
        } else if (lower.startsWith("0o")) {
            radix = 8;
        } else if (lower.startsWith("0b")) {
            radix = 2;
        }
        try {
            BigInteger n = new BigInteger(radix == 10 ? s : s.substring(2), radix);
            return negative ? n.negate() : n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + text + "\" is not a number");
        }
    }

    // --- extra payloads ---

    private static JsonNode extraToJson(ExtraPayload kind, ImageEntry entry) {
        if (kind == ExtraPayload.TCP_QUEUES) {
            long inq = kind.partLengths(entry.message())[0];
            byte[] all = entry.extra();
            ObjectNode node = NODES.objectNode();
            node.put("inq", base64(java.util.Arrays.copyOfRange(all, 0, (int) inq)));
            node.put("outq", base64(java.util.Arrays.copyOfRange(all, (int) inq, all.length)));
            return node;
        }
        if (kind == ExtraPayload.SYSV_SHM) {
            long size = kind.partLengths(entry.message())[0];
            return NODES.textNode(base64(java.util.Arrays.copyOf(entry.extra(),
                    (int) Math.min(size, entry.extra().length))));
        }
        return NODES.textNode(base64(entry.extra()));
    }

    private static byte[] extraFromJson(ExtraPayload kind, Message message, JsonNode json) {
        var out = new ByteArrayOutputStream();
        if (json != null) {
            if (kind == ExtraPayload.TCP_QUEUES) {
                out.writeBytes(Base64.getMimeDecoder().decode(json.path("inq").asText()));
                out.writeBytes(Base64.getMimeDecoder().decode(json.path("outq").asText()));
            } else {
                out.writeBytes(Base64.getMimeDecoder().decode(json.asText()));
            }
        }
        byte[] bytes = out.toByteArray();
        long expected = kind.length(message, bytes.length);
        if (kind == ExtraPayload.SYSV_SHM && expected > 0 && bytes.length == kind.partLengths(message)[0]) {
            bytes = java.util.Arrays.copyOf(bytes, (int) expected); // the padding crit does not show
        }
        if (bytes.length != expected) {
            throw new IllegalArgumentException("\"extra\" holds " + bytes.length + " bytes, the entry says "
                    + Long.toUnsignedString(expected));
        }
        return bytes;
    }

    private static CRIU_Opts opts(FieldDescriptor field) {
        return field.getOptions().getExtension(Opts.criu);
    }

    private static boolean isUnixName(FieldDescriptor field) {
        return "unix_name".equals(opts(field).getConv());
    }

    /** Python's quopri.encodestring / decodestring, used by crit for unix socket names. */
    static final class QuotedPrintable {
        private static final int MAX_LINE = 76;

        static String encode(byte[] data) {
            var out = new StringBuilder();
            int lineLength = 0;
            for (int i = 0; i < data.length; i++) {
                int c = data[i] & 0xff;
                String token;
                boolean atLineEnd = i + 1 == data.length || data[i + 1] == '\n';
                if (c == '\n') {
                    out.append('\n');
                    lineLength = 0;
                    continue;
                } else if (c == '=' || c < 0x20 && c != '\t' || c > 0x7e || (c == ' ' || c == '\t') && atLineEnd) {
                    token = String.format("=%02X", c);
                } else {
                    token = String.valueOf((char) c);
                }
                if (lineLength + token.length() > MAX_LINE - 1) {
                    out.append("=\n");
                    lineLength = 0;
                }
                out.append(token);
                lineLength += token.length();
            }
            return out.toString();
        }

        static byte[] decode(String text) {
            var out = new ByteArrayOutputStream();
            byte[] in = text.getBytes(StandardCharsets.ISO_8859_1);
            for (int i = 0; i < in.length; i++) {
                if (in[i] != '=') {
                    out.write(in[i]);
                } else if (i + 1 < in.length && in[i + 1] == '\n') {
                    i++;
                } else if (i + 2 < in.length) {
                    out.write(Integer.parseInt(new String(in, i + 1, 2, StandardCharsets.ISO_8859_1), 16));
                    i += 2;
                } else {
                    out.write(in[i]);
                }
            }
            return out.toByteArray();
        }
    }
}

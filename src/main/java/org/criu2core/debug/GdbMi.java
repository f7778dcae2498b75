package org.criu2core.debug;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A gdb driven through its machine interface (GDB/MI), the output gdb keeps stable for programs
 * to read, rather than the backtraces it prints for people. One command at a time: each is sent
 * with a number and answered by the result record carrying that number.
 */
final class GdbMi implements AutoCloseable {
    /** A command's answer: its class (done, error), its results, and what gdb printed meanwhile. */
    record Answer(String resultClass, Map<String, Object> results, String console, List<String> log) {
        boolean ok() {
            return resultClass.equals("done") || resultClass.equals("connected") || resultClass.equals("running");
        }

        String errorMessage() {
            Object msg = results.get("msg");
            return msg == null ? resultClass : msg.toString();
        }
    }

    private final java.lang.Process gdb;
    private final BufferedReader out;
    private final Writer in;
    private final Thread watchdog;
    private int token;

    /** Starts {@code program} (gdb or gdb-multiarch); it is killed after {@code timeoutSeconds}. */
    GdbMi(Path program, long timeoutSeconds) throws IOException {
        this(program, timeoutSeconds, env -> { });
    }

    /** As {@link #GdbMi(Path, long)}, its environment changed by {@code environment} (debuginfod's). */
    GdbMi(Path program, long timeoutSeconds, java.util.function.Consumer<Map<String, String>> environment)
            throws IOException {
        var builder = new ProcessBuilder(program.toString(), "-nx", "-q", "--interpreter=mi2")
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        environment.accept(builder.environment());
        gdb = builder.start();
        out = new BufferedReader(new InputStreamReader(gdb.getInputStream(), StandardCharsets.UTF_8));
        in = new OutputStreamWriter(gdb.getOutputStream(), StandardCharsets.UTF_8);
        watchdog = new Thread(() -> {
            try {
                if (!gdb.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    gdb.destroyForcibly();
                }
            } catch (InterruptedException e) {
                gdb.destroyForcibly();
            }
        }, "criu2core-gdb-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /** Sends one MI command and reads until its result record. */
    Answer run(String command) throws IOException {
        String id = Integer.toString(++token);
        in.write(id + command + "\n");
        in.flush();
        StringBuilder console = new StringBuilder();
        List<String> log = new ArrayList<>();
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("~\"")) {
                console.append(new Parser(line, 1).cString());
            } else if (line.startsWith("&\"")) {
                log.add(new Parser(line, 1).cString().strip());
            } else if (line.startsWith(id + "^")) {
                Parser p = new Parser(line, id.length() + 1);
                String resultClass = p.word();
                Map<String, Object> results = p.atEnd() ? Map.of() : p.results();
                return new Answer(resultClass, results, console.toString(), log);
            }
        }
        throw new IOException("gdb ended before answering " + command.split(" ")[0]
                + (gdb.isAlive() ? "" : " (exit status " + exitStatus() + ")"));
    }

    private String exitStatus() {
        try {
            return Integer.toString(gdb.waitFor());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /** {@code value} as an MI c-string argument. */
    static String quote(String value) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"', '\\' -> b.append('\\').append(c);
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
        return b.append('"').toString();
    }

    @Override
    public void close() {
        try {
            in.write("-gdb-exit\n");
            in.flush();
        } catch (IOException e) {
            // gdb is gone already
        }
        try {
            if (!gdb.waitFor(10, TimeUnit.SECONDS)) {
                gdb.destroyForcibly();
            }
        } catch (InterruptedException e) {
            gdb.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        watchdog.interrupt();
    }

    /**
     * MI output syntax: results are {@code name=value}; a value is a c-string, a tuple
     * {@code {...}} of results, or a list {@code [...]} of values or of results.
     */
    static final class Parser {
        private final String s;
        private int i;

        Parser(String s, int start) {
            this.s = s;
            this.i = start;
        }

        boolean atEnd() {
            return i >= s.length();
        }

        String word() {
            int start = i;
            while (i < s.length() && s.charAt(i) != ',' && s.charAt(i) != '=') {
                i++;
            }
            return s.substring(start, i);
        }

        /** The comma-separated results after a result class. */
        Map<String, Object> results() {
            Map<String, Object> results = new LinkedHashMap<>();
            while (i < s.length() && s.charAt(i) == ',') {
                i++;
                String name = word();
                expect('=');
                results.put(name, value());
            }
            return results;
        }

        private Object value() {
            char c = peek();
            if (c == '"') {
                return cString();
            }
            if (c == '{') {
                i++;
                Map<String, Object> tuple = new LinkedHashMap<>();
                while (peek() != '}') {
                    String name = word();
                    expect('=');
                    tuple.put(name, value());
                    if (peek() == ',') {
                        i++;
                    }
                }
                i++;
                return tuple;
            }
            if (c == '[') {
                i++;
                List<Object> list = new ArrayList<>();
                while (peek() != ']') {
                    if (peek() == '"' || peek() == '{' || peek() == '[') {
                        list.add(value());
                    } else {
                        String name = word();
                        expect('=');
                        // a list of results, frame={...},frame={...}: the names repeat, keep the values
                        list.add(value());
                        assert !name.isEmpty();
                    }
                    if (peek() == ',') {
                        i++;
                    }
                }
                i++;
                return list;
            }
            throw new IllegalArgumentException("MI value expected at " + i + " of: " + s);
        }

        private char peek() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("MI record ends early: " + s);
            }
            return s.charAt(i);
        }

        private void expect(char c) {
            if (peek() != c) {
                throw new IllegalArgumentException("'" + c + "' expected at " + i + " of: " + s);
            }
            i++;
        }

        /** A C string as gdb writes it: escapes, and octal bytes of UTF-8 text. */
        String cString() {
            expect('"');
            var bytes = new java.io.ByteArrayOutputStream();
            while (peek() != '"') {
                char c = s.charAt(i++);
                if (c != '\\') {
                    byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                    bytes.write(b, 0, b.length);
                    continue;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> bytes.write('\n');
                    case 't' -> bytes.write('\t');
                    case 'r' -> bytes.write('\r');
                    case 'e' -> bytes.write(27);
                    case 'a' -> bytes.write(7);
                    case 'b' -> bytes.write('\b');
                    case 'f' -> bytes.write('\f');
                    case 'v' -> bytes.write(11);
                    case '0', '1', '2', '3', '4', '5', '6', '7' -> {
                        int v = e - '0';
                        for (int k = 0; k < 2 && i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7'; k++) {
                            v = v * 8 + (s.charAt(i++) - '0');
                        }
                        bytes.write(v);
                    }
                    default -> bytes.write(e);
                }
            }
            i++;
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}

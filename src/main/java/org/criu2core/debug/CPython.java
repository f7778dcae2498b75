package org.criu2core.debug;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.criu2core.container.RootFs;
import org.criu2core.elf.ElfObject;

/**
 * Python frames of a CPython process, from {@code py-bt} of gdb's CPython extension in the gdb
 * session that unwound the native frames. py-bt reads the interpreter's structures through its
 * DWARF, so it needs the debug info of the very interpreter build the process ran: the
 * interpreter's own, or a debug file found by its build id where {@link DebugInfo} says (the
 * root's /usr/lib/debug, the host's, debuginfod). When none has it, one line says which build is
 * missing and where to get it.
 */
final class CPython {
    /** CPython's interpreter or library, by file name: python3.11, libpython3.11.so.1.0, python3.12d. */
    private static final Pattern INTERPRETER = Pattern.compile("(?:^|/)(lib)?python(\\d+\\.\\d+)[dmu]*(?:\\.so[.\\d]*)?$");
    private static final Pattern PY_FRAME = Pattern.compile("^\\s*File \"(.*)\", line (\\d+), in (.*)$");
    private static final Pattern PY_BUILTIN = Pattern.compile("^\\s*<(built-in .*)>$");
    /** Where gdb's extensions of Debian's python3.X-dbg (and of other distributions) are. */
    static final Path GDB_AUTO_LOAD = Path.of("/usr/share/gdb/auto-load");
    /** Where dpkg lists what is installed, inside the root. */
    private static final String DPKG_STATUS = "/var/lib/dpkg/status";
    /** A real dpkg status is a few MiB; a bigger one is not read. */
    private static final long MAX_DPKG_STATUS = 64L << 20;
    /** A Debian version (deb-version(7)): what else a status file holds is not printed. */
    private static final Pattern DEBIAN_VERSION = Pattern.compile("[0-9][0-9A-Za-z.+~:-]{0,99}");
    /** What gdb prints, one line per debug file it loaded for another file, for {@link #debugFiles}. */
    private static final String DEBUG_FILE_MARK = "criu2core-debug-file ";

    private CPython() {
    }

    /** What py-bt showed: Python frames by LWP, and how they were read. */
    record Result(Map<Integer, List<Stacks.PythonFrame>> threads, String by) {
    }

    /**
     * The file of {@code process} that holds its interpreter: a libpython3.X it maps (which the
     * python3.X executable then only calls into), else its python3.X executable.
     */
    static Optional<String> interpreter(ProcessFacts process) {
        String exe = null;
        for (String f : process.mappedFiles()) {
            Matcher m = INTERPRETER.matcher(f);
            if (m.find()) {
                if (m.group(1) != null) {
                    return Optional.of(f);
                }
                exe = exe == null ? f : exe;
            }
        }
        if (process.exe() != null && INTERPRETER.matcher(process.exe()).find()) {
            return Optional.of(process.exe());
        }
        return Optional.ofNullable(exe);
    }

    /** The CPython version in an interpreter's file name, as "3.11". */
    static Optional<String> version(String file) {
        Matcher m = INTERPRETER.matcher(file);
        return m.find() ? Optional.of(m.group(2)) : Optional.empty();
    }

    /**
     * gdb's extension for CPython {@code version} (py-bt), where python3.X-dbg installs it on
     * this machine. Never one from the root: it is Python code gdb would run here.
     */
    static Optional<Path> extension(String version) {
        if (!Files.isDirectory(GDB_AUTO_LOAD)) {
            return Optional.empty();
        }
        Pattern name = Pattern.compile("(?:lib)?python" + Pattern.quote(version) + "(?:\\.so[.\\d]*)?-gdb\\.py");
        try (var files = Files.walk(GDB_AUTO_LOAD, 8)) {
            return files.filter(f -> name.matcher(f.getFileName().toString()).matches()).sorted().findFirst();
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty();
        }
    }

    /**
     * Each thread's Python frames by LWP, or null with a note saying why there are none. gdb
     * loads the extension by itself only for the host's own python (its auto-load path is the
     * file's), not for one under a sysroot, so it is sourced here.
     */
    static Result frames(GdbMi mi, String interpreter, String version, RootFs rootFs, Path root, DebugInfo debugInfo,
                         List<String> notes) throws IOException {
        if (interpreter == null || version == null) {
            notes.add("Python frames: none: no python3.X executable or libpython3.X among the mapped files"
                    + " tells the interpreter's version, which gdb's extension (py-bt) must match");
            return null;
        }
        var extension = extension(version);
        if (extension.isEmpty()) {
            notes.add("Python frames: none: gdb's extension for Python " + version + " (py-bt) is not installed "
                    + "(Debian, Ubuntu: apt-get install python" + version + "-dbg)");
            return null;
        }
        var file = rootFs.open(interpreter);
        if (file.isEmpty()) {
            notes.add("Python frames: none: the interpreter " + interpreter + " is not under the root " + root
                    + ", so gdb cannot read it");
            return null;
        }
        ElfObject elf;
        try {
            elf = ElfObject.read(file.get().channel(), interpreter);
        } catch (IOException e) {
            notes.add("Python frames: none: " + e.getMessage());
            return null;
        }
        String buildId = elf.buildId().orElse(null);
        String debugFrom;
        if (elf.hasDebugInfo()) {
            debugFrom = "its own debug info";
        } else {
            var loadedFiles = debugFiles(mi);
            if (loadedFiles == null) {
                notes.add("Python frames: none: this gdb has no Python in it, which py-bt is written in");
                return null;
            }
            Path debugFile = buildId == null ? null : loadedFiles.get(buildId);
            if (debugFile == null) {
                notes.add(missing(interpreter, version, buildId, rootFs, root, debugInfo));
                return null;
            }
            debugFrom = "debug info from " + debugInfo.origin(debugFile, root);
        }
        var loaded = mi.run("-interpreter-exec console " + GdbMi.quote("source " + extension.get()));
        if (!loaded.ok()) {
            notes.add("Python frames: none: gdb could not load " + extension.get() + ": " + loaded.errorMessage());
            return null;
        }
        Map<Integer, List<Stacks.PythonFrame>> byLwp = new HashMap<>();
        for (var entry : Stacks.threadIds(mi).entrySet()) {
            var bt = mi.run("-interpreter-exec --thread " + entry.getValue() + " console \"py-bt\"");
            byLwp.put(entry.getKey(), parse(bt.console()));
        }
        if (byLwp.values().stream().allMatch(List::isEmpty)) {
            notes.add("Python frames: none found: py-bt found no Python frame in any thread, with " + debugFrom
                    + " for " + interpreter);
        }
        return new Result(byLwp, "py-bt of " + extension.get() + ", " + debugFrom + " for " + interpreter
                + (buildId == null ? "" : " (build id " + buildId + ")"));
    }

    /** py-bt's frames, innermost first. */
    static List<Stacks.PythonFrame> parse(String pyBt) {
        List<Stacks.PythonFrame> frames = new ArrayList<>();
        for (String line : pyBt.split("\n")) {
            Matcher f = PY_FRAME.matcher(line);
            Matcher b = PY_BUILTIN.matcher(line);
            if (f.find()) {
                frames.add(new Stacks.PythonFrame(f.group(3), f.group(1), Integer.valueOf(f.group(2))));
            } else if (b.find()) {
                frames.add(new Stacks.PythonFrame(b.group(1), null, null));
            }
        }
        return List.copyOf(frames);
    }

    /**
     * The separate debug files gdb loaded, by the build id of the file each is for: where gdb
     * found them, which the settings of {@link DebugInfo} decided. Null when gdb has no Python.
     */
    static Map<String, Path> debugFiles(GdbMi mi) throws IOException {
        var listed = mi.run("-interpreter-exec console " + GdbMi.quote("python [print('" + DEBUG_FILE_MARK
                + "' + o.owner.build_id + ' ' + o.filename) for o in gdb.objfiles()"
                + " if o.owner is not None and o.owner.build_id]"));
        if (!listed.ok()) {
            return null;
        }
        Map<String, Path> files = new LinkedHashMap<>();
        for (String line : listed.console().split("\n")) {
            if (line.startsWith(DEBUG_FILE_MARK)) {
                String[] parts = line.substring(DEBUG_FILE_MARK.length()).split(" ", 2);
                if (parts.length == 2) {
                    files.putIfAbsent(parts[0], Path.of(parts[1]));
                }
            }
        }
        return files;
    }

    /**
     * The one line for an interpreter whose debug info is nowhere: its build id, where it was
     * looked for, and the Debian package of that build, with the version the root's dpkg
     * status gives where it has one.
     */
    static String missing(String interpreter, String version, String buildId, RootFs rootFs, Path root,
                          DebugInfo debugInfo) throws IOException {
        String dbg = "python" + version + "-dbg";
        String packageVersion = installedVersion(rootFs, version).orElse(null);
        String where = buildId == null ? "it has no build id to look its debug file up by"
                : "not in " + debugInfo.searched(root, buildId);
        return "Python frames: none: no debug info for the interpreter " + interpreter
                + (buildId == null ? "" : " (build id " + buildId + ")") + ": " + where + "; "
                + (packageVersion != null
                ? "Debian's " + dbg + " " + packageVersion + " has it (apt-get install " + dbg + "=" + packageVersion + ")"
                : "Debian's and Ubuntu's " + dbg + " of this very build has it (the root has no dpkg status to say which version)")
                + ", or DEBUGINFOD_URLS (or --debuginfod) may name a server that has it";
    }

    /**
     * The version of the root's installed CPython {@code version} packages from its dpkg status:
     * the package that ships the interpreter first (python3.X-minimal for the executable,
     * libpython3.X for the library), all built from one source and so of one version.
     */
    static Optional<String> installedVersion(RootFs rootFs, String version) throws IOException {
        var file = rootFs.open(DPKG_STATUS);
        if (file.isEmpty()) {
            return Optional.empty();
        }
        var channel = file.get().channel();
        long size = channel.size();
        if (size > MAX_DPKG_STATUS) {
            return Optional.empty();
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) size);
        while (bytes.hasRemaining() && channel.read(bytes, bytes.position()) >= 0) {
            // read it whole
        }
        String status = new String(bytes.array(), 0, bytes.position(), StandardCharsets.UTF_8);
        List<String> preferred = List.of("python" + version + "-minimal", "libpython" + version,
                "libpython" + version + "-minimal", "python" + version, "libpython" + version + "-stdlib");
        Map<String, String> installed = new HashMap<>();
        for (String stanza : status.split("\n\\s*\n")) {
            Map<String, String> fields = fields(stanza);
            String name = fields.get("Package");
            if (name != null && preferred.contains(name) && fields.getOrDefault("Status", "").endsWith(" installed")
                    && DEBIAN_VERSION.matcher(fields.getOrDefault("Version", "")).matches()) {
                installed.putIfAbsent(name, fields.get("Version"));
            }
        }
        return preferred.stream().filter(installed::containsKey).map(installed::get).findFirst();
    }

    /** The first line of each field of a dpkg stanza (continuation lines start with a space). */
    private static Map<String, String> fields(String stanza) {
        Map<String, String> fields = new HashMap<>();
        for (String line : stanza.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !Character.isWhitespace(line.charAt(0))) {
                fields.putIfAbsent(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
        return fields;
    }
}

package org.criu2core.debug;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.criu2core.container.RootFs;
import org.criu2core.elf.CoreFile;

/**
 * Every thread's stack in a converted core, unwound by gdb (driven through GDB/MI) with the
 * checkpoint's root as its sysroot: gdb's unwinders read DWARF CFI, signal frames and the
 * debug info of each library as it does for the kernel's own cores. For a HotSpot JVM, the Java
 * stack of each Java thread besides, from the JDK's own serviceability agent.
 */
public final class Stacks {
    private static final Pattern LWP = Pattern.compile("\\b(?:LWP|process|Thread) (\\d+)\\b");
    /** CPython's interpreter or library, by file name: python3.11, libpython3.11.so.1.0, python3.12d. */
    private static final Pattern PYTHON = Pattern.compile("(?:^|/)(?:lib)?python(\\d+\\.\\d+)[dmu]*(?:\\.so[.\\d]*)?$");
    private static final Pattern PY_FRAME = Pattern.compile("^\\s*File \"(.*)\", line (\\d+), in (.*)$");
    private static final Pattern PY_BUILTIN = Pattern.compile("^\\s*<(built-in .*)>$");
    /** Where gdb's extensions of Debian's python3.X-dbg (and of other distributions) are. */
    static final Path GDB_AUTO_LOAD = Path.of("/usr/share/gdb/auto-load");
    /** How long gdb may take for one core: loading 70 000 segments takes seconds, not minutes. */
    private static final long GDB_TIMEOUT_SECONDS = 600;

    private Stacks() {
    }

    /** A native frame: pc, function ("??" when no symbol covers it), source file and line, library. */
    public record Frame(int level, String pc, String function, String file, Integer line, String library) {
    }

    /** A Python frame as py-bt prints it; a built-in function has no file and line. */
    public record PythonFrame(String function, String file, Integer line) {
    }

    /**
     * One thread: ids, name, the process's state, native frames innermost first, its Java thread
     * (or null), its Python frames innermost first (or null when the process runs no CPython).
     */
    public record ThreadStack(int tid, String comm, String state, List<Frame> frames, HotSpot.JavaThread java,
                              List<PythonFrame> python) {
    }

    /**
     * One process's threads, in the order of its images (the main thread first).
     *
     * @param unwinder what unwound the native frames (gdb's version line)
     * @param java     who read the Java stacks, or null when the process is not a JVM
     * @param notes    what could not be shown and why, one line each
     */
    public record ProcessStacks(int pid, String comm, String state, String arch, String exe, String core,
                                String unwinder, String java, List<ThreadStack> threads, List<String> notes) {
    }

    /** What to look for besides native frames. */
    public record Options(Path jdk) {
        public static final Options DEFAULTS = new Options(null);
    }

    /** The stacks of {@code process}, whose core is {@code core}, with {@code root} as the sysroot. */
    public static ProcessStacks of(ProcessFacts process, Path core, Path root, Options options) throws IOException {
        int machine;
        try (var c = CoreFile.open(core)) {
            machine = c.machine();
        }
        Path gdb = Debugger.GDB.find(machine, process.arch());
        Path exe = Debugger.executable(root, process.exe());
        List<String> notes = new ArrayList<>();
        Map<Integer, List<Frame>> native_;
        Map<Integer, List<PythonFrame>> python = null;
        String version;
        try (var mi = new GdbMi(gdb, GDB_TIMEOUT_SECONDS)) {
            var v = mi.run("-gdb-version");
            version = gdb.getFileName() + ": " + v.console().lines().findFirst().orElse("version unknown").strip();
            // -gdb-set and -target-select take the rest of the line as it is, quotes included
            check(mi.run("-gdb-set sysroot " + root.toAbsolutePath()), "set sysroot");
            if (exe != null) {
                check(mi.run("-file-exec-and-symbols " + GdbMi.quote(exe.toAbsolutePath().toString())), "load " + exe);
            } else {
                notes.add("executable " + (process.exe() == null ? "not named in the images" : process.exe()
                        + " is not under the root") + ": frames in it have no names");
            }
            check(mi.run("-target-select core " + core.toAbsolutePath()), "load " + core);
            native_ = frames(mi);
            var pythonVersion = pythonVersion(process);
            if (pythonVersion.isPresent()) {
                python = pythonFrames(mi, pythonVersion.get(), notes);
            }
        }
        String javaBy = null;
        Map<Integer, HotSpot.JavaThread> java = Map.of();
        var libjvm = HotSpot.libjvm(process);
        if (libjvm.isPresent()) {
            var j = javaStacks(process, libjvm.get(), core, exe, root, options, notes);
            javaBy = j == null ? null : "jhsdb jstack of " + j.jdk().home() + " (" + j.jdk().release() + ")";
            java = j == null ? Map.of() : j.threads();
        }
        List<ThreadStack> threads = new ArrayList<>();
        for (var t : process.threads()) {
            List<Frame> frames = native_.get(t.tid());
            if (frames == null) {
                notes.add("thread " + t.tid() + ": gdb shows no such thread in the core");
                frames = List.of();
            }
            threads.add(new ThreadStack(t.tid(), t.comm(), process.state(), frames, java.get(t.tid()),
                    python == null ? null : python.getOrDefault(t.tid(), List.of())));
        }
        return new ProcessStacks(process.pid(), process.comm(), process.state(), process.arch(), process.exe(), core.toString(),
                version, javaBy, threads, notes);
    }

    private static void check(GdbMi.Answer answer, String what) throws IOException {
        if (!answer.ok()) {
            throw new IOException("gdb could not " + what + ": " + answer.errorMessage());
        }
    }

    /** gdb's thread ids by LWP. */
    @SuppressWarnings("unchecked")
    private static Map<Integer, String> threadIds(GdbMi mi) throws IOException {
        var info = mi.run("-thread-info");
        check(info, "list the threads");
        Map<Integer, String> ids = new java.util.LinkedHashMap<>();
        for (Object o : (List<Object>) info.results().getOrDefault("threads", List.of())) {
            var thread = (Map<String, Object>) o;
            Matcher m = LWP.matcher(String.valueOf(thread.get("target-id")));
            if (m.find()) {
                ids.put(Integer.parseInt(m.group(1)), (String) thread.get("id"));
            }
        }
        return ids;
    }

    /** Each thread's frames, by LWP. */
    @SuppressWarnings("unchecked")
    private static Map<Integer, List<Frame>> frames(GdbMi mi) throws IOException {
        Map<Integer, List<Frame>> byLwp = new HashMap<>();
        for (var entry : threadIds(mi).entrySet()) {
            var stack = mi.run("-stack-list-frames --thread " + entry.getValue());
            check(stack, "unwind thread " + entry.getKey());
            List<Frame> frames = new ArrayList<>();
            for (Object f : (List<Object>) stack.results().getOrDefault("stack", List.of())) {
                var frame = (Map<String, Object>) f;
                String line = (String) frame.get("line");
                frames.add(new Frame(Integer.parseInt((String) frame.get("level")), (String) frame.get("addr"),
                        (String) frame.getOrDefault("func", "??"), (String) frame.get("file"),
                        line == null ? null : Integer.valueOf(line), (String) frame.get("from")));
            }
            byLwp.put(entry.getKey(), List.copyOf(frames));
        }
        return byLwp;
    }

    /** The CPython version a process runs (its executable or a libpython it maps), as "3.11". */
    static java.util.Optional<String> pythonVersion(ProcessFacts process) {
        List<String> files = new ArrayList<>(process.mappedFiles());
        if (process.exe() != null) {
            files.add(0, process.exe());
        }
        for (String f : files) {
            Matcher m = PYTHON.matcher(f);
            if (m.find()) {
                return java.util.Optional.of(m.group(1));
            }
        }
        return java.util.Optional.empty();
    }

    /** gdb's extension for CPython {@code version} (py-bt), where python3.X-dbg installs it. */
    static java.util.Optional<Path> pythonExtension(String version) {
        if (!java.nio.file.Files.isDirectory(GDB_AUTO_LOAD)) {
            return java.util.Optional.empty();
        }
        Pattern name = Pattern.compile("(?:lib)?python" + Pattern.quote(version) + "(?:\\.so[.\\d]*)?-gdb\\.py");
        try (var files = java.nio.file.Files.walk(GDB_AUTO_LOAD, 8)) {
            return files.filter(f -> name.matcher(f.getFileName().toString()).matches()).sorted().findFirst();
        } catch (IOException | java.io.UncheckedIOException e) {
            return java.util.Optional.empty();
        }
    }

    /**
     * Each thread's Python frames by LWP, from py-bt of gdb's CPython extension. gdb loads it by
     * itself only for the host's own python (its auto-load path is the file's), not for one
     * under a sysroot, so it is sourced here.
     */
    private static Map<Integer, List<PythonFrame>> pythonFrames(GdbMi mi, String version, List<String> notes)
            throws IOException {
        var extension = pythonExtension(version);
        if (extension.isEmpty()) {
            notes.add("Python frames: none: gdb's extension for Python " + version + " (py-bt) is not installed "
                    + "(Debian, Ubuntu: apt-get install python" + version + "-dbg)");
            return null;
        }
        var loaded = mi.run("-interpreter-exec console " + GdbMi.quote("source " + extension.get()));
        if (!loaded.ok()) {
            notes.add("Python frames: none: gdb could not load " + extension.get() + ": " + loaded.errorMessage());
            return null;
        }
        Map<Integer, List<PythonFrame>> byLwp = new HashMap<>();
        for (var entry : threadIds(mi).entrySet()) {
            var bt = mi.run("-interpreter-exec --thread " + entry.getValue() + " console \"py-bt\"");
            List<PythonFrame> frames = new ArrayList<>();
            for (String line : bt.console().split("\n")) {
                Matcher f = PY_FRAME.matcher(line);
                Matcher b = PY_BUILTIN.matcher(line);
                if (f.find()) {
                    frames.add(new PythonFrame(f.group(3), f.group(1), Integer.valueOf(f.group(2))));
                } else if (b.find()) {
                    frames.add(new PythonFrame(b.group(1), null, null));
                }
            }
            byLwp.put(entry.getKey(), List.copyOf(frames));
        }
        if (byLwp.values().stream().allMatch(List::isEmpty)) {
            notes.add("Python frames: none found: py-bt needs the debug symbols of this very Python " + version
                    + " build, as python" + version + "-dbg installs them for the host's own");
        }
        return byLwp;
    }

    /**
     * jhsdb's Java stacks, with a JDK of the target's release; null, with a note saying why,
     * when there is none or it fails.
     */
    private static HotSpot.Result javaStacks(ProcessFacts process, String libjvm, Path core, Path exe, Path root,
                                             Options options, List<String> notes) throws IOException {
        String target;
        try (var rootFs = new RootFs(root)) {
            var file = rootFs.open(libjvm);
            if (file.isEmpty()) {
                notes.add("Java stacks: " + libjvm + " is not under the root " + root
                        + ", so its version (which jhsdb must match) is unknown");
                return null;
            }
            var release = HotSpot.release(file.get().channel());
            if (release.isEmpty()) {
                notes.add("Java stacks: " + libjvm + " names no HotSpot release");
                return null;
            }
            target = release.get();
        }
        if (exe == null) {
            notes.add("Java stacks: jhsdb needs the java launcher, and " + process.exe() + " is not under the root");
            return null;
        }
        HotSpot.Jdk jdk;
        if (options.jdk() != null) {
            jdk = HotSpot.jdk(options.jdk()).orElse(null);
            if (jdk == null) {
                notes.add("Java stacks: " + options.jdk() + " (--jdk) is not a JDK with bin/jhsdb and lib/server/libjvm.so");
                return null;
            }
            if (!jdk.release().equals(target)) {
                notes.add("Java stacks: the JVM is HotSpot " + target + " and --jdk " + jdk.home() + " is "
                        + jdk.release() + ": its jhsdb may misread the VM's structures");
            }
        } else {
            var installed = HotSpot.installed();
            jdk = installed.stream().filter(j -> j.release().equals(target)).findFirst().orElse(null);
            if (jdk == null) {
                notes.add("Java stacks: none: the JVM is HotSpot " + target + " and jhsdb must be of that same release;"
                        + " no JDK here is (" + (installed.isEmpty() ? "none found under " + HotSpot.JVM_DIR
                        + " or JAVA_HOME" : String.join(", ", installed.stream()
                        .map(j -> j.home() + " is " + j.release()).toList()))
                        + "). Install JDK " + target + " (with jhsdb) or name one with --jdk DIR");
                return null;
            }
        }
        var result = HotSpot.jstack(jdk, core, exe, root);
        if (result.problem() != null) {
            notes.add("Java stacks: " + result.problem());
        }
        return result;
    }
}

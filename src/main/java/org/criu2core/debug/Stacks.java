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
import org.criu2core.image.CheckpointException;

/**
 * Every thread's stack in a converted core, unwound by gdb (driven through GDB/MI) with the
 * checkpoint's root as its sysroot: gdb's unwinders read DWARF CFI, signal frames and the
 * debug info of each library as it does for the kernel's own cores, found where
 * {@link DebugInfo} says (the root's and the host's /usr/lib/debug, debuginfod). Then the
 * stacks of the process's language runtime ({@link LanguageRuntime}): a Go program's goroutines
 * from Delve, CPython's frames from py-bt in the same gdb, a HotSpot JVM's Java stacks from the
 * JDK's own serviceability agent.
 */
public final class Stacks {
    private static final Pattern LWP = Pattern.compile("\\b(?:LWP|process|Thread) (\\d+)\\b");
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
     * (or null), its Python frames innermost first (or null when none were read: see the notes).
     */
    public record ThreadStack(int tid, String comm, String state, List<Frame> frames, HotSpot.JavaThread java,
                              List<PythonFrame> python) {
    }

    /**
     * The language runtime whose stacks were looked for.
     *
     * @param name    go, python or java
     * @param version its version where its files tell it (go1.19.8, 3.11), else null
     * @param file    the file that tells it (inside the root), or null
     * @param forced  named by --runtime rather than recognised
     */
    public record RuntimeFound(String name, String version, String file, boolean forced) {
    }

    /**
     * One process's threads, in the order of its images (the main thread first).
     *
     * @param unwinder   what unwound the native frames (gdb's version line)
     * @param runtime    the language runtime, or null for none
     * @param java       who read the Java stacks, or null when none were read
     * @param python     who read the Python frames (and where the interpreter's debug info was), or null
     * @param go         who read the goroutines, or null
     * @param goroutines a Go program's goroutines in id order, or null when none were read
     * @param notes      what could not be shown and why, one line each
     */
    public record ProcessStacks(int pid, String comm, String state, String arch, String exe, String core,
                                String unwinder, RuntimeFound runtime, String java, String python, String go,
                                List<ThreadStack> threads, List<Delve.Goroutine> goroutines, List<String> notes) {
    }

    /**
     * What to look for besides native frames, and where.
     *
     * @param jdk       the JDK whose jhsdb reads Java stacks (--jdk), or null to find one
     * @param runtime   the language runtime to read (--runtime; NONE for native frames alone), or
     *                  null to recognise it
     * @param debugInfo where debug info is found
     */
    public record Options(Path jdk, LanguageRuntime runtime, DebugInfo debugInfo) {
        public static final Options DEFAULTS = new Options(null, null, DebugInfo.LOCAL);
    }

    /** The stacks of {@code process}, whose core is {@code core}, with {@code root} as the sysroot. */
    public static ProcessStacks of(ProcessFacts process, Path core, Path root, Options options) throws IOException {
        int machine;
        try (var c = CoreFile.open(core)) {
            machine = c.machine();
        }
        Path gdb = Debugger.GDB.find(machine, process.arch());
        Path exe = Debugger.executable(root, process.exe());
        DebugInfo debugInfo = options.debugInfo();
        List<String> notes = new ArrayList<>(debugInfo.notes(root));
        try (var rootFs = new RootFs(root)) {
            var recognised = options.runtime() == null ? LanguageRuntime.recognise(process, rootFs)
                    : LanguageRuntime.forced(options.runtime(), process, rootFs);
            RuntimeFound runtime = recognised.runtime() == LanguageRuntime.NONE ? null : new RuntimeFound(
                    recognised.runtime().label(), recognised.version(), recognised.file(), options.runtime() != null);
            Map<Integer, List<Frame>> native_;
            CPython.Result python = null;
            String version;
            try (var mi = new GdbMi(gdb, GDB_TIMEOUT_SECONDS, debugInfo::environment)) {
                var v = mi.run("-gdb-version");
                version = gdb.getFileName() + ": " + v.console().lines().findFirst().orElse("version unknown").strip();
                for (String setting : debugInfo.gdbCommands(root)) {
                    var set = mi.run("-interpreter-exec console " + GdbMi.quote(setting));
                    if (!set.ok() && !setting.endsWith(" off")) {
                        notes.add("debug info: gdb could not " + setting + ": " + set.errorMessage());
                    }
                }
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
                if (recognised.runtime() == LanguageRuntime.PYTHON) {
                    python = CPython.frames(mi, recognised.file(), recognised.version(), rootFs, root, debugInfo, notes);
                }
            }
            String javaBy = null;
            Map<Integer, HotSpot.JavaThread> java = Map.of();
            if (recognised.runtime() == LanguageRuntime.JAVA) {
                var j = javaStacks(process, recognised.file(), core, exe, root, rootFs, options, notes);
                javaBy = j == null ? null : "jhsdb jstack of " + j.jdk().home() + " (" + j.jdk().release() + ")";
                java = j == null ? Map.of() : j.threads();
            }
            String goBy = null;
            List<Delve.Goroutine> goroutines = null;
            if (recognised.runtime() == LanguageRuntime.GO) {
                var g = goroutines(process, machine, core, exe, root, debugInfo, notes);
                if (g != null) {
                    goBy = g.delve() + " (dlv core)" + (recognised.version() == null ? "" : ", " + recognised.version());
                    goroutines = g.goroutines();
                }
            }
            List<ThreadStack> threads = new ArrayList<>();
            for (var t : process.threads()) {
                List<Frame> frames = native_.get(t.tid());
                if (frames == null) {
                    notes.add("thread " + t.tid() + ": gdb shows no such thread in the core");
                    frames = List.of();
                }
                threads.add(new ThreadStack(t.tid(), t.comm(), process.state(), frames, java.get(t.tid()),
                        python == null ? null : python.threads().getOrDefault(t.tid(), List.of())));
            }
            return new ProcessStacks(process.pid(), process.comm(), process.state(), process.arch(), process.exe(),
                    core.toString(), version, runtime, javaBy, python == null ? null : python.by(), goBy, threads,
                    goroutines, notes);
        }
    }

    /** Delve's goroutines; null, with a note saying why, when there are none. */
    private static Delve.Result goroutines(ProcessFacts process, int machine, Path core, Path exe, Path root, DebugInfo debugInfo,
                                           List<String> notes) throws IOException {
        Path dlv;
        try {
            dlv = Debugger.DLV.find(machine, process.arch());
        } catch (CheckpointException e) {
            notes.add("Goroutines: none: " + e.getMessage());
            return null;
        }
        if (exe == null) {
            notes.add("Goroutines: none: Delve reads them with the executable, and "
                    + (process.exe() == null ? "the images name none" : process.exe() + " is not under the root"));
            return null;
        }
        var result = Delve.goroutines(dlv, exe, core, root, debugInfo);
        if (result.problem() != null && result.problem().endsWith("could not open debug info")) {
            notes.add("Goroutines: none: Delve reads them with the executable's DWARF, and " + process.exe()
                    + " has none (built with -ldflags=-w, or stripped) nor has a debug file for it been found in "
                    + String.join(", ", debugInfo.directories(root).stream().map(Path::toString).toList())
                    + (debugInfo.debuginfod() ? " or from debuginfod" : "") + ": " + result.problem());
        } else if (result.problem() != null) {
            notes.add("Goroutines: " + result.problem());
        }
        return result.goroutines().isEmpty() && result.problem() != null ? null : result;
    }

    private static void check(GdbMi.Answer answer, String what) throws IOException {
        if (!answer.ok()) {
            throw new IOException("gdb could not " + what + ": " + answer.errorMessage());
        }
    }

    /** gdb's thread ids by LWP. */
    @SuppressWarnings("unchecked")
    static Map<Integer, String> threadIds(GdbMi mi) throws IOException {
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

    /**
     * jhsdb's Java stacks, with a JDK of the target's release, else one of its feature release
     * with the agent's version check off (said in a note); null, with a note saying why, when
     * there is none or it fails.
     */
    private static HotSpot.Result javaStacks(ProcessFacts process, String libjvm, Path core, Path exe, Path root,
                                             RootFs rootFs, Options options, List<String> notes) throws IOException {
        if (libjvm == null) {
            notes.add("Java stacks: none: the process maps no libjvm.so, so it runs no HotSpot JVM");
            return null;
        }
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
        String target = release.get();
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
                        + jdk.release() + ": read with the serviceability agent's version check off, so a structure"
                        + " that differs between the two may be misread");
            }
        } else {
            var installed = HotSpot.installed();
            jdk = installed.stream().filter(j -> j.release().equals(target)).findFirst().orElse(null);
            if (jdk == null) {
                jdk = HotSpot.sameFeature(installed, target).orElse(null);
                if (jdk == null) {
                    notes.add("Java stacks: none: the JVM is HotSpot " + target + " and jhsdb must be of that same"
                            + " release, or at least of its feature release; no JDK here is (" + (installed.isEmpty()
                            ? "none found under " + HotSpot.JVM_DIR + " or JAVA_HOME" : String.join(", ",
                            installed.stream().map(j -> j.home() + " is " + j.release()).toList()))
                            + "). Install JDK " + target + " (with jhsdb) or name one with --jdk DIR");
                    return null;
                }
                notes.add("Java stacks: no JDK of the JVM's release HotSpot " + target + " is here; read with "
                        + jdk.home() + " (" + jdk.release() + "), of the same feature release "
                        + HotSpot.versionNumbers(target).get(0) + ", with the serviceability agent's version check off"
                        + " (install JDK " + target + " or name one with --jdk DIR for an exact reading)");
            }
        }
        var result = HotSpot.jstack(jdk, core, exe, root, jdk.release().equals(target));
        if (result.problem() != null) {
            notes.add("Java stacks: " + result.problem());
        }
        return result;
    }
}

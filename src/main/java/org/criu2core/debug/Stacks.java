package org.criu2core.debug;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.criu2core.core.RootFs;
import org.criu2core.elf.CoreFile;

/**
 * Every thread's stack in a converted core, unwound by gdb (driven through GDB/MI) with the
 * checkpoint's root as its sysroot: gdb's unwinders read DWARF CFI, signal frames and the
 * debug info of each library as it does for the kernel's own cores. For a HotSpot JVM, the Java
 * stack of each Java thread besides, from the JDK's own serviceability agent.
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

    /** One thread: ids, name, the process's state, native frames innermost first, its Java thread. */
    public record ThreadStack(int tid, String comm, String state, List<Frame> frames, HotSpot.JavaThread java) {
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
            threads.add(new ThreadStack(t.tid(), t.comm(), process.state(), frames, java.get(t.tid())));
        }
        return new ProcessStacks(process.pid(), process.comm(), process.state(), process.arch(), process.exe(), core.toString(),
                version, javaBy, threads, notes);
    }

    private static void check(GdbMi.Answer answer, String what) throws IOException {
        if (!answer.ok()) {
            throw new IOException("gdb could not " + what + ": " + answer.errorMessage());
        }
    }

    /** Each thread's frames, by LWP. */
    @SuppressWarnings("unchecked")
    private static Map<Integer, List<Frame>> frames(GdbMi mi) throws IOException {
        var info = mi.run("-thread-info");
        check(info, "list the threads");
        Map<Integer, List<Frame>> byLwp = new HashMap<>();
        for (Object o : (List<Object>) info.results().getOrDefault("threads", List.of())) {
            var thread = (Map<String, Object>) o;
            Matcher m = LWP.matcher(String.valueOf(thread.get("target-id")));
            if (!m.find()) {
                continue;
            }
            var stack = mi.run("-stack-list-frames --thread " + thread.get("id"));
            check(stack, "unwind thread " + thread.get("target-id"));
            List<Frame> frames = new ArrayList<>();
            for (Object f : (List<Object>) stack.results().getOrDefault("stack", List.of())) {
                var frame = (Map<String, Object>) f;
                String line = (String) frame.get("line");
                frames.add(new Frame(Integer.parseInt((String) frame.get("level")), (String) frame.get("addr"),
                        (String) frame.getOrDefault("func", "??"), (String) frame.get("file"),
                        line == null ? null : Integer.valueOf(line), (String) frame.get("from")));
            }
            byLwp.put(Integer.parseInt(m.group(1)), List.copyOf(frames));
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

package org.criu2core.debug;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Where the debuggers look for the debug info of a root's files, one setting for all of them:
 * native frames (gdb, lldb), the Python interpreter's DWARF that py-bt reads, and Delve's Go
 * binaries. By build id, in the root's own {@code /usr/lib/debug} (a container that installed
 * its -dbg or -dbgsym packages), then this machine's, then from debuginfod servers when
 * {@code DEBUGINFOD_URLS} or {@code --debuginfod} names some. Debug files are found by build id,
 * which names one build exactly, so a file of the root and one of the host never disagree.
 *
 * @param hostDirectories the host's debug-file directories (gdb's {@code debug-file-directory})
 * @param debuginfodUrls  the debuginfod servers, in order; empty: debuginfod is not used
 * @param debuginfodCache where the debuginfod client keeps what it fetched, or null for its own
 *                        default ({@code $XDG_CACHE_HOME/debuginfod_client}), which gdb, Delve
 *                        and the elfutils tools share
 */
public record DebugInfo(List<Path> hostDirectories, List<String> debuginfodUrls, Path debuginfodCache) {
    /** gdb's debug-file-directory as Debian, Ubuntu and Fedora build it; the -dbg packages install there. */
    public static final List<Path> HOST_DIRECTORIES = List.of(Path.of("/usr/lib/debug"));
    /** The same directory inside the root. */
    static final String ROOT_DIRECTORY = "usr/lib/debug";
    /** The host's directories and no debuginfod. */
    public static final DebugInfo LOCAL = new DebugInfo(HOST_DIRECTORIES, List.of(), null);

    public DebugInfo {
        hostDirectories = List.copyOf(hostDirectories);
        debuginfodUrls = List.copyOf(debuginfodUrls);
    }

    /**
     * The host's directories, and debuginfod at {@code option} (--debuginfod: one URL or several
     * separated by spaces, as in DEBUGINFOD_URLS) or else at DEBUGINFOD_URLS.
     */
    public static DebugInfo of(String option) {
        return of(option, System.getenv("DEBUGINFOD_URLS"));
    }

    static DebugInfo of(String option, String environment) {
        String urls = option != null ? option : environment == null ? "" : environment;
        // split on any white space: a URL never holds one, and a line break would end a gdb command
        List<String> list = Arrays.stream(urls.strip().split("\\s+")).filter(u -> !u.isEmpty()).toList();
        return new DebugInfo(HOST_DIRECTORIES, list, null);
    }

    public boolean debuginfod() {
        return !debuginfodUrls.isEmpty();
    }

    /**
     * The directories searched, the root's first. The root's is left out when it is the host's
     * (root /), when it is not there, and when its path holds a ':', which gdb's list cannot
     * name ({@link #notes}).
     */
    public List<Path> directories(Path root) {
        List<Path> dirs = new ArrayList<>();
        Path inRoot = rootDirectory(root);
        if (inRoot != null) {
            dirs.add(inRoot);
        }
        dirs.addAll(hostDirectories);
        return dirs;
    }

    /** Whether {@code root} is this machine's own /, whose directory is the host's. */
    private static boolean hostRoot(Path root) {
        return root == null || root.toAbsolutePath().normalize().getParent() == null;
    }

    private static Path rootDirectory(Path root) {
        if (hostRoot(root)) {
            return null;
        }
        Path dir = root.toAbsolutePath().resolve(ROOT_DIRECTORY);
        return Files.isDirectory(dir) && !dir.toString().contains(":") ? dir : null;
    }

    /** What the settings leave out, one line each: nothing unless the root's path holds a ':'. */
    public List<String> notes(Path root) {
        Path dir = hostRoot(root) ? null : root.toAbsolutePath().resolve(ROOT_DIRECTORY);
        if (dir != null && dir.toString().contains(":") && Files.isDirectory(dir)) {
            return List.of("debug info: " + dir + " is not searched: gdb's debug-file-directory is a list "
                    + "separated by ':', and this path holds one");
        }
        return List.of();
    }

    /**
     * gdb's settings, each a command to run before the executable and the core are loaded (gdb
     * reads debug info as it loads them): the directories, and debuginfod on (with the URLs) or
     * off, so that gdb never stops to ask whether to use it.
     */
    public List<String> gdbCommands(Path root) {
        List<String> commands = new ArrayList<>();
        commands.add("set debug-file-directory " + String.join(":", directories(root).stream().map(Path::toString).toList()));
        if (debuginfod()) {
            commands.add("set debuginfod enabled on");
            commands.add("set debuginfod urls " + String.join(" ", debuginfodUrls));
        } else {
            commands.add("set debuginfod enabled off");
        }
        return commands;
    }

    /** lldb's settings: the directories (lldb's own debuginfod support is newer than most lldb installed). */
    public List<String> lldbCommands(Path root) {
        return directories(root).stream()
                .map(d -> "settings append target.debug-file-search-paths " + quote(d.toString())).toList();
    }

    /**
     * Delve's configuration file ({@code config.yml}) naming the directories; Delve looks in
     * each for {@code .build-id/NN/REST.debug} as gdb does, and asks debuginfod through
     * {@code debuginfod-find}, which reads the environment ({@link #environment}).
     */
    public String delveConfig(Path root) {
        return "debug-info-directories: [" + String.join(", ", directories(root).stream()
                .map(d -> quote(d.toString())).toList()) + "]\n";
    }

    /** The environment a debugger runs in: DEBUGINFOD_URLS as set here (or none), and the client's cache. */
    public void environment(Map<String, String> env) {
        if (debuginfod()) {
            env.put("DEBUGINFOD_URLS", String.join(" ", debuginfodUrls));
        } else {
            env.remove("DEBUGINFOD_URLS");
        }
        if (debuginfodCache != null) {
            env.put("DEBUGINFOD_CACHE_PATH", debuginfodCache.toAbsolutePath().toString());
        }
    }

    /**
     * Where a debug file gdb loaded came from, as people say it: the root's directory, a host
     * directory, or (anything else: the client's cache) debuginfod.
     */
    public String origin(Path debugFile, Path root) {
        Path file = debugFile.toAbsolutePath().normalize();
        Path inRoot = rootDirectory(root);
        if (inRoot != null && file.startsWith(inRoot.normalize())) {
            return "the root's /" + ROOT_DIRECTORY;
        }
        for (Path dir : hostDirectories) {
            if (file.startsWith(dir.toAbsolutePath().normalize())) {
                return dir.toString();
            }
        }
        return debuginfod() ? "debuginfod (" + String.join(" ", debuginfodUrls) + ")" : debugFile.toString();
    }

    /** Where a build id was looked for, for the line that says it was not found. */
    public String searched(Path root, String buildId) {
        String relative = ".build-id/" + buildId.substring(0, 2) + "/" + buildId.substring(2) + ".debug";
        List<String> places = new ArrayList<>();
        if (!hostRoot(root)) {
            places.add(rootDirectory(root) != null ? "the root's /" + ROOT_DIRECTORY + "/" + relative
                    : "the root's /" + ROOT_DIRECTORY + " (it has none)");
        }
        for (Path dir : hostDirectories) {
            places.add(dir.resolve(relative).toString());
        }
        return String.join(", ", places) + (debuginfod()
                ? ", nor at the debuginfod servers " + String.join(" ", debuginfodUrls)
                : "; DEBUGINFOD_URLS is not set (nor --debuginfod URL)");
    }

    /** A string in double quotes as gdb, lldb and YAML read it. */
    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}

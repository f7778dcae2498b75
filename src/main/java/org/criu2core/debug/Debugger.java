package org.criu2core.debug;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.criu2core.elf.Elf;
import org.criu2core.image.CheckpointException;

/**
 * The debuggers a core is handed to, and how each is told the sysroot, the executable, the core
 * and where debug info is ({@link DebugInfo}). gdb reads the cores of the host's architecture;
 * those of others need gdb-multiarch (Debian and Ubuntu build plain gdb for the host alone).
 * lldb reads every architecture it was built for. Delve, for Go programs, reads the core with the
 * executable and has no sysroot: it finds the goroutines in the Go runtime's own memory.
 */
public enum Debugger {
    GDB("gdb"),
    LLDB("lldb"),
    DLV("dlv");

    /** e_machine of the cores plain gdb reads on each host (os.arch); 21 is EM_PPC64, 22 EM_S390. */
    private static final Map<String, Set<Integer>> NATIVE = Map.of(
            "amd64", Set.of(Elf.EM_X86_64, Elf.EM_386), "x86_64", Set.of(Elf.EM_X86_64, Elf.EM_386),
            "aarch64", Set.of(Elf.EM_AARCH64), "arm", Set.of(Elf.EM_ARM), "riscv64", Set.of(Elf.EM_RISCV),
            "ppc64le", Set.of(21), "s390x", Set.of(22), "loongarch64", Set.of(Elf.EM_LOONGARCH));

    /**
     * An architecture that not every gdb still in use reads: gdb's name for it (`set
     * architecture`), its name for a user, and the gdb release from which the gdb packages have it.
     */
    private record GdbArchitecture(String gdbName, String label, int since) {
    }

    /** Debian 12's gdb 13 has no LoongArch ("Undefined item"): it loads such a core as garbage. */
    private static final Map<Integer, GdbArchitecture> NOT_IN_EVERY_GDB = Map.of(
            Elf.EM_LOONGARCH, new GdbArchitecture("Loongarch64", "LoongArch", 14));
    /** How long gdb may take to print its version and try an architecture. */
    private static final long CHECK_TIMEOUT_SECONDS = 60;

    private final String name;

    Debugger(String name) {
        this.name = name;
    }

    public String label() {
        return name;
    }

    /** The debugger --debugger names: gdb, lldb or dlv. */
    public static Debugger named(String name) {
        for (var d : values()) {
            if (d.name.equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("--debugger is gdb, lldb or dlv, not " + name);
    }

    /** The program to run for a core of {@code machine} on this host. */
    public String program(int machine) {
        if (this != GDB) {
            return name;
        }
        return NATIVE.getOrDefault(System.getProperty("os.arch"), Set.of()).contains(machine) ? "gdb" : "gdb-multiarch";
    }

    /**
     * The program, found on PATH; a missing one, or a gdb that cannot read the core's
     * architecture, is one line saying what would.
     */
    public Path find(int machine, String arch) throws IOException {
        return find(machine, arch, System.getenv().getOrDefault("PATH", ""));
    }

    /** The program, found in {@code searchPath} (directories as in PATH). */
    public Path find(int machine, String arch, String searchPath) throws IOException {
        String program = program(machine);
        String pkg = this == DLV ? Delve.PACKAGE : program;
        Path found = Programs.onPath(program, searchPath).orElseThrow(() -> new CheckpointException(program,
                "not installed" + (program.equals("gdb-multiarch") ? ": the core is " + arch
                + ", which plain gdb does not read here;" : ";") + " install the package " + pkg
                + " (Debian, Ubuntu: apt-get install " + pkg + ")"));
        GdbArchitecture needed = NOT_IN_EVERY_GDB.get(machine);
        if (this == GDB && needed != null) {
            requireArchitecture(found, needed, arch);
        }
        return found;
    }

    /**
     * Asks {@code gdb} for its version and to take {@code needed}: a gdb built without it answers
     * "Undefined item", and would load the core with nonsense registers and no threads.
     */
    private static void requireArchitecture(Path gdb, GdbArchitecture needed, String arch) throws IOException {
        var process = new ProcessBuilder(gdb.toString(), "-nx", "-batch", "-ex", "show version",
                "-ex", "set architecture " + needed.gdbName())
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(CHECK_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(gdb + ": did not say in " + CHECK_TIMEOUT_SECONDS
                        + " s which architectures it reads");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while asking " + gdb + " for its architectures");
        }
        if (output.contains("Undefined item")) {
            String version = output.lines().filter(l -> l.startsWith("GNU gdb")).findFirst().orElse("this gdb").strip();
            throw new CheckpointException(gdb.toString(), version + " cannot read " + needed.label()
                    + " cores (this one is " + arch + "); gdb " + needed.since() + " or newer can");
        }
    }

    /**
     * The command line that opens {@code core} with {@code sysroot} as the root of every file name
     * and {@code exe} (may be null; Delve needs it) as the program, looking for debug info where
     * {@code debugInfo} says; {@code extra} is passed on (to Delve after the files, which it
     * takes first).
     */
    public List<String> commandLine(Path program, Path sysroot, Path exe, Path core, DebugInfo debugInfo,
                                    List<String> extra) throws CheckpointException {
        List<String> cmd = new ArrayList<>();
        cmd.add(program.toString());
        switch (this) {
            case GDB -> {
                // -iex: before the core is read, or gdb would look for the libraries on the host
                cmd.addAll(List.of("-q", "-iex", "set sysroot " + sysroot.toAbsolutePath()));
                for (String setting : debugInfo.gdbCommands(sysroot)) {
                    cmd.addAll(List.of("-iex", setting));
                }
                cmd.addAll(extra);
                if (exe != null) {
                    cmd.add(exe.toAbsolutePath().toString());
                }
                cmd.add("--core=" + core.toAbsolutePath());
            }
            case LLDB -> {
                cmd.addAll(List.of("-O", "platform select --sysroot " + quoteLldb(sysroot.toAbsolutePath().toString())
                        + " remote-linux"));
                for (String setting : debugInfo.lldbCommands(sysroot)) {
                    cmd.addAll(List.of("-O", setting));
                }
                cmd.addAll(extra);
                cmd.addAll(List.of("--core", core.toAbsolutePath().toString()));
                if (exe != null) {
                    cmd.add(exe.toAbsolutePath().toString());
                }
            }
            case DLV -> {
                if (exe == null) {
                    throw new CheckpointException(core.toString(), "Delve opens a core with its executable, which is"
                            + " not under the root " + sysroot);
                }
                // without a terminal (a pipe, a script) Delve refuses to start unless told this
                cmd.addAll(List.of("core", exe.toAbsolutePath().toString(), core.toAbsolutePath().toString(),
                        "--allow-non-terminal-interactive=true"));
                cmd.addAll(extra);
            }
        }
        return cmd;
    }

    private static String quoteLldb(String path) {
        return "\"" + path.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** The executable a debugger should load: {@code exe} inside the root, when it is there. */
    public static Path executable(Path root, String exe) {
        if (exe == null || !exe.startsWith("/")) {
            return null;
        }
        Path inRoot = root.resolve(exe.substring(1));
        return Files.isRegularFile(inRoot) ? inRoot : null;
    }
}

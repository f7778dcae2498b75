package org.criu2core.debug;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.criu2core.elf.Elf;
import org.criu2core.image.CheckpointException;

/**
 * The debuggers a core is handed to, and how each is told the sysroot, the executable and the
 * core. gdb reads the cores of the host's architecture; those of others need gdb-multiarch
 * (Debian and Ubuntu build plain gdb for the host alone). lldb reads every architecture it was
 * built for.
 */
public enum Debugger {
    GDB("gdb"),
    LLDB("lldb");

    /** e_machine of the cores plain gdb reads on each host (os.arch); 21 is EM_PPC64, 22 EM_S390. */
    private static final Map<String, Set<Integer>> NATIVE = Map.of(
            "amd64", Set.of(Elf.EM_X86_64, Elf.EM_386), "x86_64", Set.of(Elf.EM_X86_64, Elf.EM_386),
            "aarch64", Set.of(Elf.EM_AARCH64), "arm", Set.of(Elf.EM_ARM), "riscv64", Set.of(Elf.EM_RISCV),
            "ppc64le", Set.of(21), "s390x", Set.of(22));

    private final String name;

    Debugger(String name) {
        this.name = name;
    }

    public String label() {
        return name;
    }

    /** The program to run for a core of {@code machine} on this host. */
    public String program(int machine) {
        if (this == LLDB) {
            return "lldb";
        }
        return NATIVE.getOrDefault(System.getProperty("os.arch"), Set.of()).contains(machine) ? "gdb" : "gdb-multiarch";
    }

    /**
     * The program, found on PATH; a missing one is one line saying which package has it.
     */
    public Path find(int machine, String arch) throws CheckpointException {
        return find(machine, arch, System.getenv().getOrDefault("PATH", ""));
    }

    /** The program, found in {@code searchPath} (directories as in PATH). */
    public Path find(int machine, String arch, String searchPath) throws CheckpointException {
        String program = program(machine);
        return onPath(program, searchPath).orElseThrow(() -> new CheckpointException(program, "not installed"
                + (program.equals("gdb-multiarch") ? ": the core is " + arch + ", which plain gdb does not read here;" : ";")
                + " install the package " + program + " (Debian, Ubuntu: apt-get install " + program + ")"));
    }

    /**
     * The command line that opens {@code core} with {@code sysroot} as the root of every file name
     * and {@code exe} (may be null) as the program; {@code extra} is passed on before the files.
     */
    public List<String> commandLine(Path program, Path sysroot, Path exe, Path core, List<String> extra) {
        List<String> cmd = new ArrayList<>();
        cmd.add(program.toString());
        if (this == GDB) {
            // -iex: before the core is read, or gdb would look for the libraries on the host
            cmd.addAll(List.of("-q", "-iex", "set sysroot " + sysroot.toAbsolutePath()));
            cmd.addAll(extra);
            if (exe != null) {
                cmd.add(exe.toAbsolutePath().toString());
            }
            cmd.add("--core=" + core.toAbsolutePath());
        } else {
            cmd.addAll(List.of("-O", "platform select --sysroot " + quoteLldb(sysroot.toAbsolutePath().toString())
                    + " remote-linux"));
            cmd.addAll(extra);
            cmd.addAll(List.of("--core", core.toAbsolutePath().toString()));
            if (exe != null) {
                cmd.add(exe.toAbsolutePath().toString());
            }
        }
        return cmd;
    }

    private static String quoteLldb(String path) {
        return "\"" + path.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** {@code program} in a directory of {@code searchPath}, executable. */
    private static Optional<Path> onPath(String program, String searchPath) {
        for (String dir : searchPath.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
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

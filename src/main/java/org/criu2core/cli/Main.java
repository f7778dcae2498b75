package org.criu2core.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.criu2core.image.CheckpointException;
import org.criu2core.model.Checkpoint;
import org.criu2core.sys.Cleanup;
import org.criu2core.sys.Linux;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/** Entry point: the only place that turns exceptions into messages and exit codes. */
@Command(name = "criu2core", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Turns CRIU checkpoint images into ELF core files that gdb reads like kernel-written ones.")
public final class Main {
    /** Exit status for a checkpoint or file that could not be used. */
    public static final int EXIT_FAILURE = 1;

    /** The commands that need no other to run. */
    private static final List<Class<?>> TOOLS = List.of(ConvertCommand.class, InfoCommand.class,
            GrepCommand.class, DiffCommand.class, DecodeCommand.class, EncodeCommand.class, DebugCommand.class,
            StacksCommand.class, MountCommand.class);
    /** help and generate-completion describe the others, so they need all of them. */
    private static final List<Class<?>> SUBCOMMANDS = Stream.concat(TOOLS.stream(),
            Stream.of(picocli.AutoComplete.GenerateCompletion.class, CommandLine.HelpCommand.class)).toList();

    private static final String JNA_LIBRARY_PATH = "jna.platform.library.path";
    /** The commands that open a checkpoint's files, through the native layer. */
    private static final Set<String> NATIVE_COMMANDS = Set.of("convert", "info", "grep", "debug", "stacks", "mount");
    /** The heap below which the main thread prepares for itself: what is prepared takes a few MiB. */
    private static final long PREPARE_HEAP = 32L << 20;

    public static void main(String[] args) {
        // JNA runs `ldconfig -p` as it starts, to know where libraries are, which costs every
        // start tens of milliseconds (docs/performance.md). criu2core loads no library by name
        // (sys.LibC binds the process's own symbols), so in its own process it tells JNA the
        // paths are none.
        if (System.getProperty(JNA_LIBRARY_PATH) == null) {
            System.setProperty(JNA_LIBRARY_PATH, "");
        }
        if (args.length > 0 && NATIVE_COMMANDS.contains(args[0])
                && Runtime.getRuntime().maxMemory() >= PREPARE_HEAP) {
            // binding the native calls (JNA: its stub, reflection over sys.LibC) and building the
            // schemas' descriptors are done by a second CPU while picocli reads the command line;
            // the first use waits for either if need be. Neither can deadlock with this thread:
            // JNA is reached only through Linux's state, and a descriptor's class waits only for
            // those of the files it imports, never for a class of the tool. It fails silently: the
            // first use fails the same way and says so. Only with heap to spare: an error while a
            // class is set up here (out of memory in a tiny heap) would reach the first use as
            // NoClassDefFoundError, not as what it was.
            Thread prepare = new Thread(() -> {
                Linux.unavailable();
                Checkpoint.prepareSchemas();
            }, "criu2core-prepare");
            prepare.setDaemon(true);
            prepare.setUncaughtExceptionHandler((thread, e) -> { });
            prepare.start();
        }
        var err = new PrintWriter(System.err, true);
        // a signal stops the work and removes what was not finished; a second one exits at once
        Cleanup.handleSignals(err);
        System.exit(run(args, new PrintWriter(System.out, true), err));
    }

    /** Runs a command line as the shell would, writing to the given streams. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        var reporter = new ErrorReporter(debugRequested(args));
        try {
            // inside the try: picocli reads the annotations here, and a tiny heap runs out already
            var cli = commandLine(args);
            cli.setOut(out);
            cli.setErr(err);
            cli.setExecutionExceptionHandler(reporter);
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            err.println("criu2core: out of memory: run the JVM with more heap (JAVA_OPTS=-Xmx1g src/bin/criu2core ...)");
            err.flush();
            return EXIT_FAILURE;
        } catch (Error e) {
            // picocli hands only Exceptions to the handler; an Error still gets one line
            err.println("criu2core: internal error: " + e + (reporter.debug() ? ""
                    : " (run with --debug for the stack trace, and please report it)"));
            if (reporter.debug()) {
                e.printStackTrace(err);
            }
            err.flush();
            return EXIT_FAILURE;
        }
    }

    /**
     * The command line with only the tool that {@code args} names, or with every subcommand when
     * they name none (help, completion, mistakes). picocli reads every registered command's
     * annotations by reflection before it parses anything, on every start
     * (docs/performance.md).
     */
    static CommandLine commandLine(String[] args) {
        var cli = new CommandLine(new Main());
        String first = args.length > 0 ? args[0] : "";
        List<Class<?>> named = TOOLS.stream()
                .filter(c -> c.getAnnotation(Command.class).name().equals(first))
                .toList();
        for (Class<?> subcommand : named.isEmpty() ? SUBCOMMANDS : named) {
            cli.addSubcommand(subcommand);
        }
        return cli;
    }

    private static boolean debugRequested(String[] args) {
        for (String a : args) {
            if (a.equals("--debug")) {
                return true;
            }
        }
        return false;
    }

    /** The one line a failure gets, without the "criu2core: " before it. */
    static String describe(Exception e) {
        return ErrorReporter.describe(e);
    }

    /** One line per failure; a stack trace only with --debug. */
    private record ErrorReporter(boolean debug) implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception e, CommandLine cli, ParseResult parsed) {
            PrintWriter err = cli.getErr();
            err.println("criu2core: " + describe(e));
            if (debug) {
                e.printStackTrace(err);
            }
            err.flush();
            return EXIT_FAILURE;
        }

        static String describe(Exception e) {
            if (e instanceof CheckpointException) {
                return e.getMessage();
            }
            if (e instanceof NoSuchFileException n) {
                return n.getFile() + ": no such file";
            }
            if (e instanceof AccessDeniedException a) {
                return a.getFile() + ": permission denied";
            }
            if (e instanceof IOException) {
                return e.getMessage();
            }
            return "internal error: " + e + " (run with --debug for the stack trace, and please report it)";
        }
    }
}

package org.criu2core.sys;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What must not outlive criu2core when it is stopped (SIGINT, SIGTERM, System.exit): cores being
 * written under their temporary names and checkpoints unpacked from archives. One JVM shutdown
 * hook first runs the registered stops (each interrupts its workers and waits for them, bounded),
 * then removes the registered files and folders, whatever state the workers were left in: a file
 * removed while a worker still writes it is only an unlinked inode, gone when the process is.
 *
 * <p>{@link #handleSignals} makes a second SIGINT or SIGTERM exit at once: the JVM's own handler
 * would wait for the hook to finish.
 */
public final class Cleanup {
    /** What was registered; closing it unregisters (the work is done, nothing to clean up). */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private static final Set<Runnable> STOPS = new LinkedHashSet<>();
    private static final Set<Path> PATHS = new LinkedHashSet<>();
    private static boolean hooked;
    private static boolean shuttingDown;

    private Cleanup() {
    }

    /** How long a stop waits, at most, for the work it interrupted to let go of its files. */
    public static final long STOP_WAIT_SECONDS = 10;

    /**
     * Runs {@code stop} when the JVM shuts down before the registration is closed, before any
     * path is removed: it interrupts the workers it knows of and waits (bounded) until they have
     * let go of their files.
     */
    public static Registration onShutdown(Runnable stop) {
        synchronized (Cleanup.class) {
            hook();
            STOPS.add(stop);
        }
        return () -> {
            synchronized (Cleanup.class) {
                STOPS.remove(stop);
            }
        };
    }

    /** Removes {@code path}, a file or a folder with all in it, when the JVM shuts down before the registration is closed. */
    public static Registration removeOnShutdown(Path path) {
        Path absolute = path.toAbsolutePath();
        synchronized (Cleanup.class) {
            hook();
            PATHS.add(absolute);
        }
        return () -> {
            synchronized (Cleanup.class) {
                PATHS.remove(absolute);
            }
        };
    }

    /** Whether the JVM is shutting down: work that starts now would only be removed again. */
    public static synchronized boolean shuttingDown() {
        return shuttingDown;
    }

    private static void hook() {
        if (!hooked) {
            try {
                Runtime.getRuntime().addShutdownHook(new Thread(Cleanup::run, "criu2core-cleanup"));
            } catch (IllegalStateException alreadyShuttingDown) {
                shuttingDown = true;
            }
            hooked = true;
        }
    }

    private static void run() {
        List<Runnable> stops;
        synchronized (Cleanup.class) {
            shuttingDown = true;
            stops = new ArrayList<>(STOPS);
        }
        for (Runnable stop : stops) {
            try {
                stop.run();
            } catch (RuntimeException | Error e) {
                // the paths are removed all the same
            }
        }
        List<Path> paths;
        synchronized (Cleanup.class) {
            paths = new ArrayList<>(PATHS);
        }
        for (Path path : paths) {
            try {
                deleteTree(path);
            } catch (IOException e) {
                // best effort: the JVM is exiting
            }
        }
    }

    /** Removes a file, or a folder and everything in it, without following symbolic links out of it. */
    public static void deleteTree(Path path) throws IOException {
        try {
            Files.walkFileTree(path, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (!(e instanceof NoSuchFileException)) {
                        Files.deleteIfExists(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException gone) {
            // nothing to remove
        }
    }

    /**
     * For the command line: SIGINT and SIGTERM stop criu2core, the hook removing what was not
     * finished, and exit with 128 + the signal's number, as a shell reports it; a second signal
     * while that runs exits at once. Says so on {@code err}. Where the JVM keeps the signals to
     * itself (-Xrs) its own handling stays.
     */
    public static void handleSignals(PrintWriter err) {
        for (String name : List.of("INT", "TERM")) {
            try {
                var signal = new sun.misc.Signal(name);
                sun.misc.Signal.handle(signal, new SignalHandler(err));
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // the JVM's handler stays
            }
        }
    }

    /** Shared by both signals: the second one, whichever it is, halts. */
    private static final class SignalHandler implements sun.misc.SignalHandler {
        private static boolean stopping;
        private final PrintWriter err;

        SignalHandler(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void handle(sun.misc.Signal signal) {
            int status = 128 + signal.getNumber();
            boolean again;
            synchronized (SignalHandler.class) {
                again = stopping;
                stopping = true;
            }
            if (again) {
                Runtime.getRuntime().halt(status);
            }
            err.println("criu2core: SIG" + signal.getName() + ": stopping, removing unfinished cores and unpacked "
                    + "checkpoints (a second signal exits at once, leaving them)");
            err.flush();
            // not on this thread: it dispatches signals, and must be free to take the second one
            new Thread(() -> System.exit(status), "criu2core-exit").start();
        }
    }
}

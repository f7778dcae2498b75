package org.criu2core.cli;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.criu2core.core.Progress;

/**
 * A progress bar on stderr while a core is written, when stderr is a terminal; elsewhere (a
 * pipe, a CI log) nothing: the line each finished core gets says it all.
 */
final class ConsoleProgress implements Progress {
    private static final long MIB = 1 << 20;
    /** Cores smaller than this are written before a bar could be read. */
    private static final long SHOWN_FROM = 64 * MIB;

    private final PrintStream err;
    private ProgressBar bar;

    private ConsoleProgress(PrintStream err) {
        this.err = err;
    }

    static Progress forTerminal(boolean quiet) {
        return quiet || System.console() == null ? Progress.NONE : new ConsoleProgress(System.err);
    }

    @Override
    public void start(String core, long totalBytes) {
        close();
        if (totalBytes >= SHOWN_FROM) {
            bar = new ProgressBarBuilder().setTaskName(core).setInitialMax(totalBytes)
                    .setStyle(ProgressBarStyle.ASCII).setUnit(" MiB", MIB).showSpeed()
                    .setConsumer(new ConsoleProgressBarConsumer(err)).setUpdateIntervalMillis(200).build();
        }
    }

    @Override
    public void advance(long bytes) {
        if (bar != null) {
            bar.stepBy(bytes);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}

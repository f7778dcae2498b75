package org.criu2core.cli;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.criu2core.core.Progress;
import org.criu2core.sys.Linux;

/**
 * One progress bar on stderr for all the cores of a conversion, when stderr is a terminal;
 * elsewhere (a pipe, a CI log) nothing: the line each finished core gets says it all. Cores are
 * written by several threads at once, so every call is synchronized; they come once per page
 * run, which is rare enough for a lock not to be measurable.
 */
final class ConsoleProgress implements Progress {
    private static final long MIB = 1 << 20;
    /** Conversions smaller than this are done before a bar could be read. */
    private static final long SHOWN_FROM = 64 * MIB;

    private final PrintStream err;
    private ProgressBar bar;
    private long planned;
    private long done;
    private int cores;

    private ConsoleProgress(PrintStream err) {
        this.err = err;
    }

    static Progress forTerminal(boolean quiet) {
        // the bar goes to standard error: shown when that is a terminal, whatever the output is
        return quiet || !Linux.isTerminal(Linux.STDERR) ? Progress.NONE : new ConsoleProgress(System.err);
    }

    @Override
    public synchronized void start(String core, long totalBytes) {
        planned += totalBytes;
        cores++;
        if (bar == null && planned >= SHOWN_FROM) {
            bar = new ProgressBarBuilder().setTaskName("writing").setInitialMax(planned)
                    .setStyle(ProgressBarStyle.ASCII).setUnit(" MiB", MIB).showSpeed()
                    .setConsumer(new ConsoleProgressBarConsumer(err)).setUpdateIntervalMillis(200).build();
            bar.stepTo(done);
        } else if (bar != null) {
            bar.maxHint(planned);
        }
        if (bar != null) {
            bar.setExtraMessage(cores == 1 ? core : cores + " cores");
        }
    }

    @Override
    public synchronized void advance(long bytes) {
        done += bytes;
        if (bar != null) {
            bar.stepBy(bytes);
        }
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}

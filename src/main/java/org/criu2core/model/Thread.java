package org.criu2core.model;

import org.criu2core.image.proto.Core.core_entry;

/**
 * One thread: its id and its core image. Registers stay in the generated message, which only
 * the class of the thread's architecture reads.
 */
public record Thread(int tid, core_entry core) {
    /** Nice value, for NT_PRPSINFO (thread_core.sched_nice). */
    public int nice() {
        return core.hasThreadCore() ? core.getThreadCore().getSchedNice() : 0;
    }

    /** Blocked signals: per thread where the image has them, else the task's. */
    public long blockedSignals() {
        if (core.hasThreadCore() && core.getThreadCore().hasBlkSigset()) {
            return core.getThreadCore().getBlkSigset();
        }
        return core.hasTc() ? core.getTc().getBlkSigset() : 0;
    }

    /**
     * Signals queued for this thread alone, as a mask: bit N-1 for signal N. CRIU keeps each as the
     * raw siginfo_t of the task, in its architecture's byte {@code order}.
     */
    public long pendingSignals(java.nio.ByteOrder order) {
        long mask = 0;
        if (core.hasThreadCore() && core.getThreadCore().hasSignalsP()) {
            for (var s : core.getThreadCore().getSignalsP().getSignalsList()) {
                var info = s.getSiginfo();
                if (info.size() >= 4) {
                    int signo = info.asReadOnlyByteBuffer().order(order).getInt(0);
                    if (signo >= 1 && signo <= 64) {
                        mask |= 1L << (signo - 1);
                    }
                }
            }
        }
        return mask;
    }
}

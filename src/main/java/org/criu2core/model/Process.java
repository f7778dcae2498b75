package org.criu2core.model;

import java.util.List;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.Creds.creds_entry;
import org.criu2core.image.proto.Mm.mm_entry;

/**
 * One process of the tree: ids from pstree.img, its threads (the thread whose id is the pid
 * first), and, when it was alive, its memory: mm-PID.img and its VMAs in address order. {@code
 * warnings} say what its images hold that this tool leaves out.
 */
public record Process(int pid, int ppid, int pgid, int sid, List<Thread> threads, mm_entry mm, List<Vma> vmas,
                      List<String> warnings) {
    /**
     * task_core_entry.task_state (compel/include/uapi/task-state.h). crit's names for 3 and 6 are
     * swapped; decode keeps crit's, this keeps CRIU's.
     */
    public enum State {
        ALIVE(1), DEAD(2), STOPPED(3), ZOMBIE(6), UNKNOWN(0);

        final int value;

        State(int value) {
            this.value = value;
        }

        static State of(int value) {
            for (State s : values()) {
                if (s.value == value) {
                    return s;
                }
            }
            return UNKNOWN;
        }
    }

    public Process {
        threads = List.copyOf(threads);
        vmas = List.copyOf(vmas);
        warnings = List.copyOf(warnings);
    }

    public Thread mainThread() {
        return threads.get(0);
    }

    public core_entry mainCore() {
        return mainThread().core();
    }

    public State state() {
        return mainCore().hasTc() ? State.of(mainCore().getTc().getTaskState()) : State.UNKNOWN;
    }

    /** A zombie or dead task has no memory image, so nothing to make a core of. */
    public boolean hasMemory() {
        return mm != null;
    }

    public String comm() {
        var core = mainCore();
        if (core.hasTc()) {
            return core.getTc().getComm();
        }
        return core.hasThreadCore() ? core.getThreadCore().getComm() : "";
    }

    public creds_entry creds() {
        var core = mainCore();
        return core.hasThreadCore() && core.getThreadCore().hasCreds() ? core.getThreadCore().getCreds()
                : creds_entry.getDefaultInstance();
    }
}

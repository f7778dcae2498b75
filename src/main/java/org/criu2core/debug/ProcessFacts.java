package org.criu2core.debug;

import java.util.List;
import org.criu2core.arch.Arch;
import org.criu2core.image.CheckpointException;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.MappedFile;
import org.criu2core.model.Process;
import org.criu2core.model.Vma;

/**
 * What a debugger needs to know of a process besides its core, taken from the images when the
 * core is made and kept beside it in the cache, so that a cached core needs no image read again.
 *
 * @param exe         the executable's path at dump time (inside the root), or null when the images
 *                    do not name one
 * @param mappedFiles the paths of the regular files it mapped, in address order, each once
 */
public record ProcessFacts(int pid, int ppid, String comm, String state, String arch, String exe,
                           List<ThreadFacts> threads, List<String> mappedFiles) {
    /** A thread: its id and name (comm; the process's for its main thread when the image has none). */
    public record ThreadFacts(int tid, String comm) {
    }

    public ProcessFacts {
        threads = List.copyOf(threads);
        mappedFiles = List.copyOf(mappedFiles);
    }

    static ProcessFacts of(Checkpoint checkpoint, Process process) throws CheckpointException {
        String arch = Arch.of(process, checkpoint.dir().display("core-" + process.pid() + ".img")).name();
        List<ThreadFacts> threads = process.threads().stream().map(t -> {
            var core = t.core();
            String name = core.hasThreadCore() && core.getThreadCore().hasComm() ? core.getThreadCore().getComm() : "";
            return new ThreadFacts(t.tid(), name.isEmpty() && t.tid() == process.pid() ? process.comm() : name);
        }).toList();
        String exe = null;
        if (process.mm() != null && process.mm().hasExeFileId()) {
            MappedFile f = checkpoint.files().get(process.mm().getExeFileId());
            exe = f != null && f.kind() == MappedFile.Kind.REGULAR ? f.path() : null;
        }
        List<String> files = process.vmas().stream().map(Vma::file)
                .filter(f -> f != null && f.kind() == MappedFile.Kind.REGULAR)
                .map(MappedFile::path).distinct().toList();
        return new ProcessFacts(process.pid(), process.ppid(), process.comm(), process.state().name().toLowerCase(),
                arch, exe, threads, files);
    }

    /** The thread {@code tid}, or null. */
    public ThreadFacts thread(int tid) {
        return threads.stream().filter(t -> t.tid() == tid).findFirst().orElse(null);
    }
}

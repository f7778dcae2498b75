package org.criu2core.sys;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Where a file has data, as SEEK_DATA and SEEK_HOLE say: [start, end) runs, in order. */
public final class Holes {
    private Holes() {
    }

    public static List<List<Long>> dataRuns(Path file) throws IOException {
        int fd = LibC.openat(Linux.AT_FDCWD, Linux.cString(file.toString()), Linux.O_RDONLY | Linux.flags().cloexec(), 0);
        if (fd < 0) {
            throw new IOException(file + ": cannot be opened: errno " + Linux.errno());
        }
        try {
            long size = LibC.lseek64(fd, 0, 2);
            List<List<Long>> runs = new ArrayList<>();
            for (long at = 0; at < size; ) {
                long data = LibC.lseek64(fd, at, Linux.SEEK_DATA);
                if (data < 0) {
                    if (Linux.errno() == Linux.ENXIO) {
                        break;
                    }
                    throw new IOException(file + ": SEEK_DATA at " + at + ": errno " + Linux.errno());
                }
                long hole = LibC.lseek64(fd, data, Linux.SEEK_HOLE);
                if (hole < 0) {
                    throw new IOException(file + ": SEEK_HOLE at " + data + ": errno " + Linux.errno());
                }
                runs.add(List.of(data, hole));
                at = hole;
            }
            return runs;
        } finally {
            LibC.close(fd);
        }
    }
}

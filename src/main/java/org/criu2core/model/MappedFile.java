package org.criu2core.model;

/**
 * A file a VMA maps, from files.img (or the older reg-files.img) and memfd.img.
 *
 * @param path    the path at dump time, for regular files; what to read under --root
 * @param size    the file's size at dump time, -1 when the image does not say
 * @param mode    st_mode at dump time, 0 when the image does not say
 * @param shmid   for memfd and shared anonymous memory: the shmem object whose pages CRIU saved
 *                (pagemap-shmem-SHMID.img), else -1
 * @param deleted for a file unlinked while mapped (remap-fpath.img), where its bytes are; else null
 */
public record MappedFile(int id, Kind kind, String path, long size, int mode, long shmid, Deleted deleted) {
    public enum Kind {
        /** A file on a filesystem: contents under --root. */
        REGULAR,
        /** A memfd, or MAP_SHARED anonymous memory (which CRIU records as a memfd named /dev/zero). */
        MEMFD
    }

    /**
     * Where the bytes of a file that was deleted while mapped are: in a ghost image CRIU wrote,
     * under another name CRIU linked it to ({@code linkedPath}, under --root), or nowhere.
     */
    public record Deleted(GhostFile ghost, String linkedPath) {
    }

    public MappedFile(int id, Kind kind, String path, long size, int mode, long shmid) {
        this(id, kind, path, size, mode, shmid, null);
    }

    MappedFile deleted(Deleted where) {
        return new MappedFile(id, kind, path, size, mode, shmid, where);
    }

    /** memfd_create's name as the kernel shows it for shared anonymous memory. */
    static final String DEV_ZERO = "/dev/zero";

    /** The name the kernel shows for this mapping in /proc/PID/maps and NT_FILE. */
    public String kernelName() {
        if (kind == Kind.REGULAR) {
            return deleted == null ? path : path + " (deleted)";
        }
        return path.equals(DEV_ZERO) ? DEV_ZERO + " (deleted)" : "/memfd:" + path + " (deleted)";
    }

    public boolean executable() {
        return (mode & 0111) != 0;
    }
}

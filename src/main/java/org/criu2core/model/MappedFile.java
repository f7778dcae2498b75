package org.criu2core.model;

/**
 * What a VMA maps (its vm_file): a file from files.img (or the older reg-files.img), a shmem
 * object, or one of the kernel's own files behind SysV segments, huge pages, AIO rings and
 * packet sockets. Every VMA with one has an NT_FILE entry in the kernel's core.
 *
 * @param path    for regular files the path at dump time, what to read under --root; for a
 *                memfd its name; for the others the name the kernel gives the file
 * @param size    the file's size at dump time, -1 when the image does not say
 * @param mode    st_mode at dump time, 0 when the image does not say
 * @param shmid   for shmem objects: the one whose pages CRIU saved (pagemap-shmem-SHMID.img), else -1
 * @param deleted for a file unlinked while mapped (remap-fpath.img), where its bytes are; else null
 */
public record MappedFile(int id, Kind kind, String path, long size, int mode, long shmid, Deleted deleted) {
    public enum Kind {
        /** A file on a filesystem: contents under --root. */
        REGULAR,
        /**
         * A shmem object CRIU records as a memfd: a memfd, MAP_SHARED anonymous memory
         * ("/dev/zero") and shared anonymous huge pages ("/anon_hugepage").
         */
        MEMFD,
        /** A SysV shared memory segment, in a shmem object named by its key. */
        SYSV,
        /** Private anonymous huge pages: hugetlbfs's unnamed file; the pages are the process's own. */
        ANON_HUGEPAGE,
        /** An io_setup() ring: an anonymous inode; CRIU saves its pages with the process's. */
        AIO_RING,
        /** A packet socket's ring, which CRIU does not save. */
        SOCKET
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

    /** The memfd CRIU records for MAP_SHARED anonymous memory before version 4. */
    static final String DEV_ZERO = "/dev/zero";

    static MappedFile sysv(long shmid, long key) {
        return new MappedFile(-1, Kind.SYSV, String.format("/SYSV%08x", key), -1, 0, shmid);
    }

    static final MappedFile ANON_HUGEPAGE = new MappedFile(-1, Kind.ANON_HUGEPAGE, "/anon_hugepage", -1, 0, -1);
    static final MappedFile AIO_RING = new MappedFile(-1, Kind.AIO_RING, "/[aio]", -1, 0, -1);

    /**
     * A packet socket's ring. The kernel names it "socket:[INODE]", but CRIU's images do not keep
     * a packet socket's inode number (images/packet-sock.proto), so this name says which kind of
     * socket it is instead.
     */
    static MappedFile packetSocket(int fileId) {
        return new MappedFile(fileId, Kind.SOCKET, "socket:[packet]", -1, 0, -1);
    }

    /** The name the kernel shows for this mapping in /proc/PID/maps and NT_FILE (d_path). */
    public String kernelName() {
        return switch (kind) {
            case REGULAR -> deleted == null ? path : path + " (deleted)";
            // CRIU keeps the name after "/memfd:", and whole names that never had it
            case MEMFD -> (path.startsWith("/") ? path : "/memfd:" + path) + " (deleted)";
            case SYSV, ANON_HUGEPAGE, AIO_RING -> path + " (deleted)";
            case SOCKET -> path;
        };
    }

    /**
     * Whether the file has no link in any filesystem (i_nlink == 0): the kernel's filter then
     * counts a shared mapping of it as anonymous shared memory. Shmem objects never had one; a
     * regular file was unlinked while mapped; an AIO ring's and a socket's inodes keep their 1.
     */
    public boolean unlinked() {
        return switch (kind) {
            case REGULAR -> deleted != null;
            case MEMFD, SYSV, ANON_HUGEPAGE -> true;
            case AIO_RING, SOCKET -> false;
        };
    }

    public boolean executable() {
        return (mode & 0111) != 0;
    }
}

package org.criu2core.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What statx says of an open file (include/uapi/linux/stat.h):
 * <pre>
 * struct statx {
 *   __u32 stx_mask;          0     __u64 stx_ino;               32
 *   __u32 stx_blksize;       4     __u64 stx_size;              40
 *   __u64 stx_attributes;    8     __u64 stx_blocks;            48   (512-byte units)
 *   __u32 stx_nlink;        16     __u64 stx_attributes_mask;   56
 *   __u32 stx_uid;          20     struct statx_timestamp stx_atime, stx_btime, stx_ctime,
 *   __u32 stx_gid;          24                            stx_mtime;  64, 80, 96, 112
 *   __u16 stx_mode;         28     __u32 stx_rdev_major, stx_rdev_minor;   128, 132
 *                                  __u32 stx_dev_major, stx_dev_minor;     136, 140
 * };                                                                 (256)
 * </pre>
 */
record FileStatus(int mode, long size, long blocks, long inode, int devMajor, int devMinor, int nlink) {
    static final int SIZE = 256;
    /** STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_SIZE | STATX_BLOCKS */
    static final int MASK = 0x1 | 0x2 | 0x4 | 0x100 | 0x200 | 0x400;

    static final int S_IFMT = 0170000;
    static final int S_IFREG = 0100000;
    static final int S_IFDIR = 0040000;
    static final int S_IFLNK = 0120000;

    static FileStatus of(byte[] statx) {
        ByteBuffer b = ByteBuffer.wrap(statx).order(ByteOrder.nativeOrder());
        return new FileStatus(Short.toUnsignedInt(b.getShort(28)), b.getLong(40), b.getLong(48), b.getLong(32),
                b.getInt(136), b.getInt(140), b.getInt(16));
    }

    boolean regular() {
        return (mode & S_IFMT) == S_IFREG;
    }

    boolean directory() {
        return (mode & S_IFMT) == S_IFDIR;
    }

    boolean symbolicLink() {
        return (mode & S_IFMT) == S_IFLNK;
    }

    /** Fewer blocks than bytes: some of the file is holes (or compressed, which SEEK_DATA sees as data). */
    boolean mayHaveHoles() {
        return blocks * 512 < size;
    }
}

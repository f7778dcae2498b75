package org.criu2core.sys;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * libfuse 3's low-level API (fuse_lowlevel.h), bound by JNA's direct mapping: the session, the
 * replies, and the operations criu2core's read-only filesystem answers, as callbacks. Loaded by its
 * soname, which Debian's libfuse3-3 (pulled in by fuse3) installs; what is here is in every
 * libfuse 3 release since 3.0, but lseek, which came with 3.8. Struct layouts that differ between
 * releases are read from {@link #fuse_pkgversion()} where they are used ({@link FuseMount}).
 */
final class LibFuse {
    /** The soname of libfuse 3 on every distribution. */
    static final String SONAME = "libfuse3.so.3";

    static {
        Native.register(NativeLibrary.getInstance(SONAME));
    }

    private LibFuse() {
    }

    // const char *fuse_pkgversion(void);
    static native String fuse_pkgversion();

    // struct fuse_session *fuse_session_new(struct fuse_args *args, const struct fuse_lowlevel_ops *op,
    //                                       size_t op_size, void *userdata);
    static native Pointer fuse_session_new(Pointer args, Pointer ops, long opSize, Pointer userdata);

    // void fuse_opt_free_args(struct fuse_args *args);
    static native void fuse_opt_free_args(Pointer args);

    // int fuse_session_mount(struct fuse_session *se, const char *mountpoint);
    static native int fuse_session_mount(Pointer session, byte[] mountpoint);

    // void fuse_session_unmount(struct fuse_session *se);
    static native void fuse_session_unmount(Pointer session);

    // void fuse_session_destroy(struct fuse_session *se);
    static native void fuse_session_destroy(Pointer session);

    // int fuse_session_receive_buf(struct fuse_session *se, struct fuse_buf *buf);
    static native int fuse_session_receive_buf(Pointer session, Pointer buf);

    // void fuse_session_process_buf(struct fuse_session *se, const struct fuse_buf *buf);
    static native void fuse_session_process_buf(Pointer session, Pointer buf);

    // int fuse_session_exited(struct fuse_session *se);
    static native int fuse_session_exited(Pointer session);

    // void fuse_session_exit(struct fuse_session *se);
    static native void fuse_session_exit(Pointer session);

    // int fuse_reply_err(fuse_req_t req, int err);
    static native int fuse_reply_err(Pointer req, int err);

    // int fuse_reply_entry(fuse_req_t req, const struct fuse_entry_param *e);
    static native int fuse_reply_entry(Pointer req, Pointer entry);

    // int fuse_reply_attr(fuse_req_t req, const struct stat *attr, double attr_timeout);
    static native int fuse_reply_attr(Pointer req, Pointer stat, double timeout);

    // int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi);
    static native int fuse_reply_open(Pointer req, Pointer fileInfo);

    // int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size);
    static native int fuse_reply_buf(Pointer req, Pointer buf, long size);

    // int fuse_reply_data(fuse_req_t req, struct fuse_bufvec *bufv, enum fuse_buf_copy_flags flags);
    static native int fuse_reply_data(Pointer req, Pointer bufvec, int flags);

    // int fuse_reply_lseek(fuse_req_t req, off_t off);
    static native int fuse_reply_lseek(Pointer req, long offset);

    // void fuse_set_log_func(fuse_log_func_t func);
    static native void fuse_set_log_func(LogFunction function);

    /** void (*fuse_log_func_t)(enum fuse_log_level level, const char *fmt, va_list ap) */
    interface LogFunction extends Callback {
        void invoke(int level, Pointer format, Pointer arguments);
    }

    /** void (*init)(void *userdata, struct fuse_conn_info *conn) */
    interface Init extends Callback {
        void invoke(Pointer userdata, Pointer connection);
    }

    /** void (*lookup)(fuse_req_t req, fuse_ino_t parent, const char *name) */
    interface Lookup extends Callback {
        void invoke(Pointer req, long parent, Pointer name);
    }

    /** void (*getattr)(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), and open, opendir */
    interface InodeOperation extends Callback {
        void invoke(Pointer req, long inode, Pointer fileInfo);
    }

    /** void (*read)(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi), and readdir */
    interface Read extends Callback {
        void invoke(Pointer req, long inode, long size, long offset, Pointer fileInfo);
    }

    /** void (*lseek)(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi) */
    interface Seek extends Callback {
        void invoke(Pointer req, long inode, long offset, int whence, Pointer fileInfo);
    }
}

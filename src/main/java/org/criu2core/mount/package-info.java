/**
 * A checkpoint's cores served as files without being written: a read-only FUSE filesystem (the
 * binding is sys.FuseMount) with one core.PID per process, whose bytes are read on demand through
 * the layout plan that `convert` writes from (core.CoreContent), so that a debugger reads a core of
 * any size at once and no page is copied to disk. `mount` shows it to users; debug and stacks mount
 * into a private folder of their cache while the debugger runs.
 */
package org.criu2core.mount;

/**
 * Converted cores read back in a debugger: the cache of cores that {@code debug} and
 * {@code stacks} convert once and reuse, the debuggers they hand a core to, and the stacks that
 * gdb (and, for a HotSpot JVM, the JDK's serviceability agent) unwinds from it. This is the
 * second flow, from cores back to people; it reads what the writer made and never changes it.
 */
package org.criu2core.debug;

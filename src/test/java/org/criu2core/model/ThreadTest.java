package org.criu2core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.Core.thread_core_entry;
import org.criu2core.image.proto.Siginfo.siginfo_entry;
import org.criu2core.image.proto.Siginfo.signal_queue_entry;
import org.junit.jupiter.api.Test;

/** CRIU keeps a queued signal as the task's raw siginfo_t: si_signo in the task's byte order. */
class ThreadTest {
    private static Thread queued(int signo, ByteOrder order) {
        byte[] siginfo = ByteBuffer.allocate(128).order(order).putInt(0, signo).array();
        var queue = signal_queue_entry.newBuilder()
                .addSignals(siginfo_entry.newBuilder().setSiginfo(ByteString.copyFrom(siginfo)));
        var core = core_entry.newBuilder()
                .setThreadCore(thread_core_entry.newBuilder().setSignalsP(queue).buildPartial()).buildPartial();
        return new Thread(1, core);
    }

    @Test
    void pendingSignalsInTheTasksByteOrder() {
        // SIGUSR1 (10): bit 9
        assertEquals(1L << 9, queued(10, ByteOrder.BIG_ENDIAN).pendingSignals(ByteOrder.BIG_ENDIAN));
        assertEquals(1L << 9, queued(10, ByteOrder.LITTLE_ENDIAN).pendingSignals(ByteOrder.LITTLE_ENDIAN));
        // read in the other order, 10 is 0x0a000000: no signal number, so no bit
        assertEquals(0, queued(10, ByteOrder.BIG_ENDIAN).pendingSignals(ByteOrder.LITTLE_ENDIAN));
    }
}

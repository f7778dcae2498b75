package org.criu2core.hostile;

import java.io.IOException;
import java.nio.file.Path;

/** The crafted chain of {@link SymlinkChainTest}, for the native layer's own tests. */
public final class SymlinkChainTestAccess {
    private SymlinkChainTestAccess() {
    }

    public static void chain(Path root) throws IOException {
        SymlinkChainTest.chain(root);
    }
}

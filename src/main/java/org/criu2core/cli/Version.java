package org.criu2core.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar's manifest, so it is written in one place: the pom. */
final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"criu2core " + (v == null ? "(development build)" : v)};
    }
}

package org.criu2core.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** A number written in hex, with or without 0x, as /proc/PID/coredump_filter shows it. */
final class HexConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String digits = value.startsWith("0x") || value.startsWith("0X") ? value.substring(2) : value;
        try {
            return Long.parseUnsignedLong(digits, 16);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a hex number");
        }
    }
}

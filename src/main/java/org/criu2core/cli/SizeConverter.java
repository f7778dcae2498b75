package org.criu2core.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** A size in bytes, or with K, M, G or T for KiB, MiB, GiB, TiB: 64G, 512M, 4194304. */
final class SizeConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String v = value.strip();
        int shift = 0;
        if (!v.isEmpty()) {
            switch (Character.toUpperCase(v.charAt(v.length() - 1))) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                v = v.substring(0, v.length() - 1);
            } else {
                shift = 0;
            }
        }
        try {
            long n = Long.parseLong(v);
            if (n >= 0 && n <= Long.MAX_VALUE >> shift) {
                return n << shift;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new TypeConversionException("'" + value + "' is not a size (bytes, or a number with K, M, G or T)");
    }
}

package dev.scalenet.io;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Shape arithmetic shared by the readers, the writers and the in-memory types. */
final class Shapes {
    /** Largest element count a Java array can reliably hold. */
    static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private Shapes() {
    }

    /** Product of the dimensions (1 for a scalar), or -1 if a dimension is negative or it overflows. */
    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                return -1;
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                return -1;
            }
        }
        return n;
    }

    static String format(long[] shape) {
        return Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", ", "[", "]"));
    }
}

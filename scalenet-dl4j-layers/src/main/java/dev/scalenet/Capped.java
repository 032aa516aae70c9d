package dev.scalenet;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Lists in error messages, cut after the first few items: a file may hold a list of any length, and an error
 * about it must stay readable (one line per item of a 200 KB list was 85 MB of log).
 */
public final class Capped {
    /** Items shown before "... and N more". */
    public static final int SHOWN = 8;

    private Capped() {
    }

    /** {@code items} joined by {@code separator}, the first {@value #SHOWN}, then "... and N more". */
    public static String join(Collection<?> items, String separator) {
        String shown = items.stream().limit(SHOWN).map(String::valueOf).collect(Collectors.joining(separator));
        return items.size() <= SHOWN ? shown : shown + separator + "... and " + (items.size() - SHOWN) + " more";
    }

    /** {@code [a, b, c, ... and N more]}. */
    public static String list(Collection<?> items) {
        return "[" + join(items, ", ") + "]";
    }

    /** {@link #list} of an int array. */
    public static String list(int[] items) {
        return list(IntStream.of(items).boxed().toList());
    }

    /** {@link #list} of a long array (a shape). */
    public static String list(long[] items) {
        return list(Arrays.stream(items).boxed().toList());
    }

    /** {@code items}, one per indented line, the first {@value #SHOWN}, then "... and N more". */
    public static String lines(List<String> items) {
        return "\n  " + join(items, "\n  ");
    }
}

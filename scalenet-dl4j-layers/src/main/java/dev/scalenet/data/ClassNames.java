package dev.scalenet.data;

import dev.scalenet.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Class names: the rule every list of them keeps, wherever it comes from (a dataset's {@code classes.txt}, a model's
 * {@code label_names}), and the {@code classes.txt} file: one class name per line, line {@code k} naming label
 * {@code k - 1}.
 */
public final class ClassNames {
    static final String FILE_NAME = "classes.txt";

    private ClassNames() {
    }

    /**
     * Reads the names. Surrounding whitespace and trailing blank lines are dropped; a blank line
     * before the last name or a repeated name is an error, because it would shift or merge labels.
     */
    static List<String> read(Path file) throws DatasetException {
        String where = file.toAbsolutePath().toString();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new DatasetException(where + ": not UTF-8 text: expected one class name per line", e);
        } catch (IOException e) {
            throw new DatasetException(where + ": cannot read: " + e, e);
        }
        int end = lines.size();
        while (end > 0 && lines.get(end - 1).isBlank()) {
            end--;
        }
        if (end == 0) {
            throw new DatasetException(where + ": no class names: expected one class name per line");
        }
        List<String> names = new ArrayList<>(end);
        for (int i = 0; i < end; i++) {
            names.add(lines.get(i).strip());
        }
        try {
            check(names, i -> "line " + (i + 1));
        } catch (IllegalArgumentException e) {
            throw new DatasetException(where + ": " + e.getMessage(), e);
        }
        return List.copyOf(names);
    }

    /**
     * Checks the rule for class names: none null or blank, none repeated, because a blank name would hide a class and a
     * repeated one merge two in what a model predicts. Entry {@code i} is named in messages as {@code entry} names it,
     * the way its source does ({@code "line 3"}, {@code "label_names[2]"}): {@code <entry> = ' ': expected a class name
     * (not blank)}, {@code <entry> = 'cat' repeats <entry>: expected one name per class}. How many names there must be
     * is the caller's to check (a model's head, a dataset's labels).
     *
     * @throws IllegalArgumentException at the first name that breaks the rule
     */
    public static void check(List<String> names, IntFunction<String> entry) {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException(entry.apply(i) + " = " + (name == null ? "null" : "'" + name + "'")
                        + ": expected a class name (not blank)");
            }
            Integer first = seen.putIfAbsent(name, i);
            if (first != null) {
                throw new IllegalArgumentException(entry.apply(i) + " = '" + name + "' repeats " + entry.apply(first)
                        + ": expected one name per class");
            }
        }
    }

    /** Writes the names, one per line, atomically; {@link #read} gives them back. */
    static void write(Path file, List<String> names) throws IOException {
        AtomicFiles.writeString(file, String.join("\n", names) + "\n");
    }

    /** "0", "1", ... for datasets without names. */
    static List<String> numbered(int count) {
        List<String> names = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            names.add(Integer.toString(i));
        }
        return List.copyOf(names);
    }
}

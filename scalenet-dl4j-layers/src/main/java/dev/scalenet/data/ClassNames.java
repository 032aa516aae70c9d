package dev.scalenet.data;

import dev.scalenet.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A {@code classes.txt} file: one class name per line, line {@code k} naming label {@code k}. */
final class ClassNames {
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
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < end; i++) {
            String name = lines.get(i).strip();
            if (name.isEmpty()) {
                throw new DatasetException(where + ": line " + (i + 1) + " is blank: expected a class name on every"
                        + " line (line k names label k - 1)");
            }
            if (!seen.add(name)) {
                throw new DatasetException(where + ": line " + (i + 1) + " repeats the class name '" + name + "'");
            }
            names.add(name);
        }
        return List.copyOf(names);
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

package dev.scalenet.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Whole-file writes that replace the target completely or not at all: the bytes go to a hidden temp file
 * beside the target, which is renamed over it only once fully written and flushed. An exception leaves the
 * previous file (or none) and no partial one; a killed process leaves the previous file and the temp file, which
 * {@link #deleteLeftovers} removes.
 */
public final class AtomicFiles {

    /** Writes the content {@code body} produces. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {}

    /** Creates missing parent folders, then writes {@code target} atomically. */
    public static void write(Path target, Body body) throws IOException {
        FileIo.writeAtomically(target, channel -> {
            OutputStream out = Channels.newOutputStream(channel);
            body.writeTo(out);
            out.flush();
        });
    }

    public static void writeString(Path target, String text) throws IOException {
        write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /**
     * Deletes the temp files of writes of {@code target} that never finished (the process was killed before the
     * rename); {@code target} itself stays. Call it only when no write of {@code target} is under way.
     */
    public static void deleteLeftovers(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        if (!Files.isDirectory(absolute.getParent())) return;
        String prefix = FileIo.tempPrefix(absolute);
        try (Stream<Path> siblings = Files.list(absolute.getParent())) {
            for (Path p : siblings.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

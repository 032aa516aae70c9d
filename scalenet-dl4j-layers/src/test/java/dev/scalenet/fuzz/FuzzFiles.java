package dev.scalenet.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every fuzz target shares: readers take paths, so each input is written to files in one scratch folder
 * per test JVM (deleted when it exits), and the contract that a rejected input names the file it came from.
 */
public final class FuzzFiles {
    private static final Path SCRATCH = createScratch();

    private FuzzFiles() {
    }

    /** A fresh, empty folder under the scratch folder, named {@code name} (anything from a previous input removed). */
    public static Path emptyDir(String name) throws IOException {
        Path dir = SCRATCH.resolve(name);
        deleteTree(dir);
        return Files.createDirectories(dir);
    }

    /** {@code bytes} written to {@code name} in the scratch folder, replacing the previous input. */
    public static Path write(String name, byte[] bytes) throws IOException {
        return Files.write(SCRATCH.resolve(name), bytes);
    }

    /**
     * The reader's contract for a bad input: its error names the file, or a file inside the folder, by its absolute
     * path (so a user can find what to fix).
     */
    public static void assertNames(Exception rejection, Path fileOrFolder) {
        String path = fileOrFolder.toAbsolutePath().toString();
        String message = String.valueOf(rejection.getMessage());
        assertTrue(message.contains(path), () -> "the error should name " + path + ", was: " + message);
    }

    /** A length prefix for a fuzz input split into parts: the next 2 bytes, big-endian, capped at what is left. */
    public static int nextLength(ByteBuffer in) {
        if (in.remaining() < 2) return in.remaining();
        return Math.min(in.getShort() & 0xffff, in.remaining());
    }

    /** The next {@code length} bytes of {@code in}. */
    public static byte[] next(ByteBuffer in, int length) {
        byte[] part = new byte[length];
        in.get(part);
        return part;
    }

    private static Path createScratch() {
        try {
            Path dir = Files.createTempDirectory("scalenet-fuzz");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    deleteTree(dir);
                } catch (IOException ignored) {
                    // a temp folder left behind is harmless
                }
            }));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}

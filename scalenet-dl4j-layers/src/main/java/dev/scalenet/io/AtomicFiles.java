package dev.scalenet.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Whole-file writes that replace the target completely or not at all: the bytes go to a hidden temp file
 * beside the target, which is renamed over it only once fully written and flushed. An exception leaves the
 * previous file (or none) and no partial one; a killed process leaves the previous file and the temp file, which
 * {@link #deleteLeftovers} removes. {@link #writeFolder} does the same for a new folder.
 */
public final class AtomicFiles {

    /** Writes the content {@code body} produces. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Fills a folder: the hidden one {@link #writeFolder} renames into place. */
    @FunctionalInterface
    public interface FolderBody {
        void writeTo(Path folder) throws IOException;
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
     * Creates the new folder {@code target}, whole or not at all: {@code body} fills a hidden folder beside it, which
     * is renamed into place once {@code body} returns. An existing {@code target} is refused with
     * {@link FileAlreadyExistsException} before {@code body} runs, and so is a non-empty one that appears meanwhile
     * (an empty one that appears meanwhile is replaced, as rename(2) does); an existing folder's files are never touched.
     * On any failure the hidden folder and what {@code body} wrote into it are deleted; a killed process leaves it
     * for {@link #deleteLeftovers}.
     */
    public static void writeFolder(Path target, FolderBody body) throws IOException {
        Path absolute = target.toAbsolutePath().normalize();
        Files.createDirectories(absolute.getParent());
        if (Files.exists(absolute, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(absolute.toString());
        }
        Path temp = null;
        try {
            temp = FileIo.createTemp(absolute, Files::createDirectory);
            body.writeTo(temp);
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileSystemException e) { // rename(2) refuses a non-empty folder that appeared meanwhile
                if (Files.exists(absolute, LinkOption.NOFOLLOW_LINKS)) throw new FileAlreadyExistsException(absolute.toString());
                throw e;
            }
        } catch (Throwable failure) {
            if (temp != null) {
                try {
                    deleteTree(temp);
                } catch (IOException cleanup) {
                    failure.addSuppressed(cleanup);
                }
            }
            throw failure;
        }
    }

    /**
     * Deletes the temp files and folders of writes of {@code target} that never finished (the process was killed
     * before the rename); {@code target} itself stays. Call it only when no write of {@code target} is under way.
     */
    public static void deleteLeftovers(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        if (!Files.isDirectory(absolute.getParent())) return;
        String prefix = FileIo.tempPrefix(absolute);
        try (Stream<Path> siblings = Files.list(absolute.getParent())) {
            for (Path p : siblings.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                deleteTree(p);
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> tree = Files.walk(root)) { // walk does not follow links: a link is deleted, not its target
            for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

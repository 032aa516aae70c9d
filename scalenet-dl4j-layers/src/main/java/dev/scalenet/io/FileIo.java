package dev.scalenet.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/** Channel helpers: whole-file writes that replace the target completely or not at all, and full reads. */
final class FileIo {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int NAME_ATTEMPTS = 10;

    @FunctionalInterface
    interface Body {
        void writeTo(FileChannel out) throws IOException;
    }

    private FileIo() {
    }

    /**
     * Writes to a hidden temp file beside {@code target}, then renames it over the target. On any
     * failure, including runtime exceptions from {@code body}, the temp file is deleted.
     */
    static void writeAtomically(Path target, Body body) throws IOException {
        Path absolute = target.toAbsolutePath();
        Files.createDirectories(absolute.getParent()); // every writer (npy, safetensors, text) may target a new folder
        Path temp = null;
        try {
            temp = createTemp(absolute);
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                body.writeTo(out);
                out.force(true);
            }
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (Throwable failure) {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException cleanup) {
                    failure.addSuppressed(cleanup);
                }
            }
            throw failure;
        }
    }

    /** Creates a hidden temp file or folder beside {@code target}. */
    @FunctionalInterface
    interface Creator {
        Path create(Path path) throws IOException;
    }

    // Not Files.createTempFile or createTempDirectory: those are owner-only, and the result would keep that mode.
    private static Path createTemp(Path target) throws IOException {
        return createTemp(target, Files::createFile);
    }

    static Path createTemp(Path target, Creator creator) throws IOException {
        for (int attempt = 1; ; attempt++) {
            Path temp = target.resolveSibling(tempPrefix(target) + Long.toHexString(RANDOM.nextLong()));
            try {
                return creator.create(temp);
            } catch (FileAlreadyExistsException e) {
                if (attempt == NAME_ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /** The name of every temp file of {@code target}, up to its random part. */
    static String tempPrefix(Path target) {
        return "." + target.getFileName() + ".tmp-";
    }

    static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /** Fills {@code buffer} from {@code position} on and flips it for reading, little-endian. */
    static ByteBuffer readFully(FileChannel in, long position, ByteBuffer buffer) throws IOException {
        buffer.order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining()) {
            if (in.read(buffer, position + buffer.position()) < 0) {
                throw new EOFException("file ended at byte " + (position + buffer.position()));
            }
        }
        return buffer.flip();
    }
}

package dev.scalenet.job;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Exclusive use of an output folder by one job, across processes (an operating-system file lock on
 * {@value #FILE} in the folder) and across threads of one JVM. A second job that finds the folder held fails at
 * once with {@link OutputLockedException}, naming the folder and the holder (process id, host, since when):
 * waiting would, for a fine-tune, mean waiting hours. The operating system drops the lock when its process ends,
 * however it ends, so a killed build leaves no stale lock behind; a job that ends normally also deletes the file.
 *
 * <p>The lock file is the one file of the folder not written through {@code AtomicFiles}: replacing it by a
 * rename would give it a new inode, and the lock of the current holder would no longer guard it.
 */
public final class OutputLock implements AutoCloseable {
    /** The lock file's name inside the output folder. */
    public static final String FILE = ".scalenet.lock";

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock on {@code dir} (created if missing) and records this process as its holder. */
    public static OutputLock acquire(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE);
        // a releasing holder deletes the file: a channel opened on the deleted file would lock nothing anyone else sees,
        // so the lock counts only if the path still names the file this channel opened (a few rounds of a close race)
        for (int attempt = 0; ; attempt++) {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            Object opened = fileKey(file);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // another thread of this JVM holds it
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
            if (lock != null && (opened == null || !opened.equals(fileKey(file)))) {
                lock.release();
                channel.close();
                if (attempt < 10) continue;
                throw new IOException(file + ": the lock file keeps being replaced while this job takes it");
            }
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw new OutputLockedException(dir.toAbsolutePath().normalize(), holder);
            }
            try {
                channel.truncate(0);
                channel.write(ByteBuffer.wrap(describeThisProcess().getBytes(StandardCharsets.UTF_8)), 0);
                channel.force(false);
            } catch (IOException | RuntimeException e) {
                lock.release();
                channel.close();
                throw e;
            }
            return new OutputLock(file, channel, lock);
        }
    }

    /** The file system's identity of {@code file} (its inode on Linux), or null if it is gone. */
    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    private static String holder(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(channel.size(), 4096));
            channel.read(buffer, 0);
            String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? "a process that has not yet recorded itself" : text;
        } catch (IOException e) {
            return "a process whose record could not be read (" + e.getMessage() + ")";
        }
    }

    private static String describeThisProcess() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "an unknown host";
        }
        return "process " + ProcessHandle.current().pid() + " on " + host + ", since " + Instant.now() + "\n";
    }

    /** Whether this lock is still held (not yet closed). */
    public boolean isHeld() {
        return lock.isValid();
    }

    /** Deletes the lock file, then releases the lock: a finished job leaves only its outputs in the folder. */
    @Override
    public void close() throws IOException {
        try {
            Files.deleteIfExists(file);
            lock.release();
        } finally {
            channel.close();
        }
    }

    /** The output folder is in use by another job. */
    public static final class OutputLockedException extends IOException {
        private final Path dir;
        private final String holder;

        OutputLockedException(Path dir, String holder) {
            super(dir + " is in use by another scalenet job (" + holder.replace("\n", " ").trim() + "; lock file " + FILE
                    + "). Two builds must not expand into one output folder: give each its own outputDirectory,"
                    + " or run this one again when the other has finished (it then finds the outputs up to date if"
                    + " nothing changed)");
            this.dir = dir;
            this.holder = holder;
        }

        public Path dir() {
            return dir;
        }

        /** What the holder recorded: process id, host, since when. */
        public String holder() {
            return holder;
        }
    }
}

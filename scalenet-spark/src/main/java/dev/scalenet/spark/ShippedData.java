package dev.scalenet.spark;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.io.AtomicFiles;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A training set the driver ships to the executors, for clusters whose executors cannot read the driver's disk: the
 * driver packs the data folder into one zip and adds it to the application ({@code SparkContext.addFile}); each
 * executor fetches it from the driver into its own working folder and unpacks it there once. Every executor gets a
 * whole copy from the driver, so the size is limited to {@link #LIMIT_BYTES}; larger sets belong on a file system
 * every executor can read.
 */
final class ShippedData implements Serializable {
    private static final long serialVersionUID = 1L;
    /**
     * 1 GiB: each executor pulls a full copy from the driver's file server and keeps it on its disk, so 64 executors
     * move 64 GiB through the driver's network link (about a minute at 10 Gbit/s) before the first round.
     */
    static final long LIMIT_BYTES = 1L << 30;

    /** The zip's name, as the executors ask {@link SparkFiles} for it. */
    private final String zipName;

    private ShippedData(String zipName) {
        this.zipName = zipName;
    }

    /**
     * Packs {@code dir} and adds it to {@code sc}'s files.
     *
     * @throws InvalidSettingException (setting {@code shipData}) when the folder holds more than {@link #LIMIT_BYTES};
     *     (setting {@code data}) when it is not a folder
     */
    static ShippedData ship(JavaSparkContext sc, Path dir) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        List<Path> files = shippable(root, LIMIT_BYTES);
        String zipName = "scalenet-data-" + root.getFileName() + ".zip";
        // in the driver's Spark temporary folder, which Spark deletes when the context stops
        Path zip = Files.createDirectories(Path.of(SparkFiles.getRootDirectory(), "outgoing")).resolve(zipName);
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            out.setLevel(Deflater.NO_COMPRESSION); // the images are compressed already; packing is for one transfer
            for (Path f : files) {
                out.putNextEntry(new ZipEntry(root.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
        sc.addFile(zip.toString());
        return new ShippedData(zipName);
    }

    /**
     * The files of {@code root}, in order, if it is a folder of at most {@code limit} bytes.
     *
     * @throws InvalidSettingException naming {@code data} when it is not a folder, {@code shipData} when it is larger
     */
    static List<Path> shippable(Path root, long limit) throws IOException {
        InvalidSettingException.require(Files.isDirectory(root), "data", root, "a folder of training data to ship to the executors");
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        long bytes = 0;
        for (Path f : files) bytes += Files.size(f);
        InvalidSettingException.require(bytes <= limit, "shipData", String.format(Locale.ROOT, "true for %s (%.1f MiB)",
                root, bytes / 1048576.0), "at most " + (limit >> 20) + " MiB of training data to ship from the driver;"
                + " put a larger set on a file system every executor can read and give its path as --data");
        return files;
    }

    /**
     * The data folder on this executor: fetched by Spark, unpacked by the first task of this JVM that needs it (into a
     * hidden folder first, so a task killed while unpacking leaves nothing that looks complete).
     */
    synchronized Path localDir() {
        Path zip = Path.of(SparkFiles.get(zipName)).toAbsolutePath().normalize(); // an executor's is "<work dir>/./<name>"
        Path dir = zip.resolveSibling(zipName.replaceFirst("\\.zip$", ""));
        if (Files.isDirectory(dir)) return dir;
        try {
            AtomicFiles.writeFolder(dir, partial -> {
                try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
                    for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                        Path target = partial.resolve(e.getName()).normalize();
                        if (!target.startsWith(partial)) throw new IOException(zip + ": entry " + e.getName() + " leaves its folder");
                        Files.createDirectories(target.getParent());
                        copy(in, target);
                    }
                }
            });
        } catch (FileAlreadyExistsException e) {
            // another executor JVM sharing this folder unpacked it first: the same files
        } catch (IOException e) {
            throw new UncheckedIOException("the training data shipped by the driver (" + zip + ") could not be unpacked: "
                    + e.getMessage(), e);
        }
        return dir;
    }

    private static void copy(InputStream in, Path target) throws IOException {
        try (OutputStream out = Files.newOutputStream(target)) {
            in.transferTo(out); // ZipInputStream ends each entry's stream at the entry's end
        }
    }

    @Override
    public String toString() {
        return "shipped from the driver as " + zipName;
    }
}

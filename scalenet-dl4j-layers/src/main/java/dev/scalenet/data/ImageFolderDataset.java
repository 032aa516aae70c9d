package dev.scalenet.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * An ImageNet-style folder of images: {@code root/<class>/<image>}, one subdirectory per class.
 * Classes are the subdirectory names in sorted order (label {@code k} is the {@code k}-th); images
 * are the files directly inside a class folder whose names end in {@code .png}, {@code .jpg},
 * {@code .jpeg}, {@code .bmp} or {@code .gif} (any case), sorted by name, so indices are the same on
 * every machine. Hidden entries (names starting with {@code .}, such as macOS {@code ._x.jpg}
 * resource forks) and other files are skipped.
 *
 * <p>Images are decoded on each access with the JDK's {@link ImageIO}, deliberately not DataVec,
 * whose image reader brings OpenCV, Leptonica, HDF5 and FFmpeg natives (about 50 MB per platform).
 * Grey images (and palette images whose palette is all grey) give one channel, their samples unsigned
 * integers of at most 16 bits; colour images give three, RGB, with any alpha dropped.
 */
public final class ImageFolderDataset implements ImageDataset {
    /** The recognised file name endings, lower case. */
    static final Set<String> EXTENSIONS = Set.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");
    private static final String EXPECTED_IMAGES = "files ending in .png, .jpg, .jpeg, .bmp or .gif (any case)";
    /**
     * PNG's deepest grey. Files are read by content, so a 32-bit TIFF named .png arrives too, and its 1 << 32 would
     * wrap round to 1, scaling by 0.
     */
    private static final int MAX_GREY_BITS = 16;

    private final Path root;
    private final List<String> classNames;
    private final Path[] files;
    private final int[] labels;

    private ImageFolderDataset(Path root, List<String> classNames, Path[] files, int[] labels) {
        this.root = root;
        this.classNames = classNames;
        this.files = files;
        this.labels = labels;
    }

    /**
     * Lists the classes and images under {@code root}; decodes nothing yet.
     *
     * @throws DatasetException if root is missing or not a directory, has no class folders, or a
     *     class folder has no images
     */
    public static ImageFolderDataset open(Path root) throws DatasetException {
        Path absolute = root.toAbsolutePath().normalize();
        List<Path> classDirs = classFolders(absolute);
        if (classDirs.isEmpty()) {
            throw new DatasetException(absolute + ": a dataset with no classes: expected one subdirectory per"
                    + " class, each holding " + EXPECTED_IMAGES);
        }
        List<String> names = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (Path dir : classDirs) {
            List<Path> images = listVisible(dir, Files::isRegularFile);
            images.removeIf(f -> !isImageName(f.getFileName().toString()));
            if (images.isEmpty()) {
                throw new DatasetException(dir + ": class '" + dir.getFileName() + "' has no images: expected "
                        + EXPECTED_IMAGES);
            }
            for (Path f : images) {
                files.add(f);
                labels.add(names.size());
            }
            names.add(dir.getFileName().toString());
        }
        return new ImageFolderDataset(absolute, List.copyOf(names), files.toArray(Path[]::new),
                labels.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The class folders of {@code root}, sorted by name; also checks that root is a directory. */
    static List<Path> classFolders(Path root) throws DatasetException {
        if (!Files.exists(root)) {
            throw new DatasetException(root + ": does not exist: expected a directory of class folders");
        }
        if (!Files.isDirectory(root)) {
            throw new DatasetException(root + ": is a file: expected a directory of class folders");
        }
        return listVisible(root, Files::isDirectory);
    }

    static boolean isImageName(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(name.substring(dot).toLowerCase(Locale.ROOT));
    }

    @Override
    public int size() {
        return files.length;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public int label(int index) {
        return labels[Objects.checkIndex(index, labels.length)];
    }

    /** The image file of example {@code index}. */
    public Path file(int index) {
        return files[Objects.checkIndex(index, files.length)];
    }

    @Override
    public String source(int index) {
        return file(index).toString();
    }

    /** Decodes the file of example {@code index}. */
    @Override
    public Image image(int index) throws DatasetException {
        return decode(file(index));
    }

    @Override
    public String describe() {
        return "image folders under " + root;
    }

    @Override
    public String toString() {
        return describe() + " (" + size() + " images, " + numClasses() + " classes)";
    }

    /** Decodes one image file to CHW floats in [0, 1]: 1 channel if grey, else 3 (RGB). */
    static Image decode(Path file) throws DatasetException {
        BufferedImage image;
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? Collections.emptyIterator() : ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new DatasetException(file + ": not a decodable image: no ImageIO reader recognises it (expected"
                        + " PNG, JPEG, BMP or GIF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                // the header's size, checked before the decoder allocates a raster that large
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > ImageOps.MAX_PIXELS) {
                    throw new DatasetException(file + ": the image claims " + reader.getWidth(0) + "x"
                            + reader.getHeight(0) + " pixels: expected at most " + ImageOps.MAX_PIXELS + " pixels");
                }
                image = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (DatasetException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // ImageIO reports corrupt data as IIOException and, for some truncated files, as runtime exceptions
            throw new DatasetException(file + ": cannot decode the image (expected a valid PNG, JPEG, BMP or GIF): "
                    + e.getMessage(), e);
        }
        return isGrey(image.getColorModel()) ? grey(file, image) : rgb(image);
    }

    private static boolean isGrey(ColorModel model) {
        if (model instanceof IndexColorModel palette) {
            for (int i = 0; i < palette.getMapSize(); i++) {
                int r = palette.getRed(i);
                if (r != palette.getGreen(i) || r != palette.getBlue(i)) {
                    return false;
                }
            }
            return true;
        }
        return model.getColorSpace().getType() == ColorSpace.TYPE_GRAY;
    }

    private static Image grey(Path file, BufferedImage image) throws DatasetException {
        int h = image.getHeight();
        int w = image.getWidth();
        if (image.getColorModel() instanceof IndexColorModel) {
            float[] data = new float[h * w];
            int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
            for (int i = 0; i < data.length; i++) {
                data[i] = (argb[i] & 0xff) / 255f;
            }
            return new Image(1, h, w, data);
        }
        // The raw samples, not getRGB(): that converts linear grey to sRGB and changes the values.
        Raster raster = image.getRaster();
        int bits = image.getColorModel().getComponentSize(0);
        int type = raster.getTransferType();
        // read as ints, float samples would be cut and signed ones go negative
        boolean unsigned = type == DataBuffer.TYPE_BYTE || type == DataBuffer.TYPE_USHORT || type == DataBuffer.TYPE_INT;
        if (!unsigned || bits < 1 || bits > MAX_GREY_BITS) {
            throw new DatasetException(file + ": a grey image of " + bits + "-bit " + sampleKind(type) + " samples:"
                    + " expected unsigned integer samples of at most " + MAX_GREY_BITS + " bits (such as an 8- or"
                    + " 16-bit grey PNG)");
        }
        float max = (1 << bits) - 1;
        float[] data = new float[h * w];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            raster.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                data[y * w + x] = row[x] / max;
            }
        }
        return new Image(1, h, w, data);
    }

    private static String sampleKind(int transferType) {
        return switch (transferType) {
            case DataBuffer.TYPE_FLOAT, DataBuffer.TYPE_DOUBLE -> "floating-point";
            case DataBuffer.TYPE_SHORT -> "signed integer";
            case DataBuffer.TYPE_BYTE, DataBuffer.TYPE_USHORT, DataBuffer.TYPE_INT -> "unsigned integer";
            default -> "unknown (transfer type " + transferType + ")";
        };
    }

    private static Image rgb(BufferedImage image) {
        int h = image.getHeight();
        int w = image.getWidth();
        int plane = h * w;
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        float[] data = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            int p = argb[i];
            data[i] = ((p >>> 16) & 0xff) / 255f;
            data[plane + i] = ((p >>> 8) & 0xff) / 255f;
            data[2 * plane + i] = (p & 0xff) / 255f;
        }
        return new Image(3, h, w, data);
    }

    /** Entries of {@code dir} passing {@code test}, without hidden ones, sorted by name. */
    private static List<Path> listVisible(Path dir, Predicate<Path> test) throws DatasetException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                if (!p.getFileName().toString().startsWith(".") && test.test(p)) {
                    entries.add(p);
                }
            }
        } catch (IOException e) {
            throw new DatasetException(dir + ": cannot list the directory: " + e, e);
        }
        entries.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return entries;
    }
}

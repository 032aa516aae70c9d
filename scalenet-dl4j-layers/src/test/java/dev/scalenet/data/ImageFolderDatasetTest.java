package dev.scalenet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderDatasetTest {
    /** A 3x2 (width x height) colour pattern, as 0xRRGGBB. */
    private static final int[][] RGB = {
            {0xff0000, 0x00ff00, 0x0000ff},
            {0x102030, 0xfedcba, 0x808080}};

    @TempDir
    Path root;

    /** Writes a 3x2 image of {@link #RGB} in {@code format} to {@code root/dir/name}. */
    static Path colour(Path dir, String name, String format, int type) throws IOException {
        BufferedImage image = new BufferedImage(3, 2, type);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                image.setRGB(x, y, 0xff000000 | RGB[y][x]);
            }
        }
        return write(dir, name, format, image);
    }

    /**
     * Writes an 8x8 palette GIF of the six colours of {@link #RGB}, pixel (y, x) having colour
     * {@code (8y + x) % 6}; if {@code grey}, the palette holds the red values as greys. The palette
     * is given, because ImageIO's GIF writer would quantise an RGB image itself, not always exactly;
     * and 8 rows, because the JDK's GIF reader misplaces rows of interlaced GIFs (which its writer
     * makes) shorter than 8 rows.
     */
    static Path palette(Path dir, String name, boolean grey) throws IOException {
        byte[] r = new byte[6];
        byte[] g = new byte[6];
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            int p = RGB[i / 3][i % 3];
            r[i] = (byte) (p >> 16);
            g[i] = grey ? r[i] : (byte) (p >> 8);
            b[i] = grey ? r[i] : (byte) p;
        }
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 6, r, g, b));
        int[] indices = new int[64];
        for (int i = 0; i < 64; i++) {
            indices[i] = i % 6;
        }
        image.getRaster().setSamples(0, 0, 8, 8, 0, indices);
        return write(dir, name, "gif", image);
    }

    /** The expected CHW floats of {@link #palette}: {@code channels} 1 (the reds) or 3. */
    private static float[] paletteChw(int channels) {
        float[] data = new float[channels * 64];
        for (int c = 0; c < channels; c++) {
            for (int i = 0; i < 64; i++) {
                int p = RGB[(i % 6) / 3][(i % 6) % 3];
                data[c * 64 + i] = ((p >> (16 - 8 * c)) & 0xff) / 255f;
            }
        }
        return data;
    }

    @Test
    @DisplayName("an image within the decode bound whose resize would pass it fails naming its file, before the resize")
    void resizeBound(@TempDir Path root) throws IOException {
        // 2 Mpixels decode, but a 28-pixel shorter side keeps the ratio at 56000000x28
        Path wide = write(root.resolve("wide"), "strip.png", "png", new BufferedImage(2_000_000, 1, BufferedImage.TYPE_BYTE_GRAY));
        BatchLoader loader = BatchLoader.evaluation(ImageFolderDataset.open(root), DataConfig.fashionMnist(), 1).build();
        try (BatchLoader.Batches batches = loader.epoch(0)) {
            java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, batches::next);
            assertEquals("batch 0 of epoch 0: " + wide + ": the image of 2000000x1 pixels resizes to 56000000x28 (keeping"
                    + " its aspect ratio for a 28x28 crop): expected at most " + ImageOps.MAX_PIXELS + " pixels", e.getMessage());
            assertTrue(e.getCause() instanceof DatasetException);
        }
    }

    /** Writes a 4x2 grey image with the given raster samples (row-major). */
    static Path grey(Path dir, String name, String format, int type, int... samples) throws IOException {
        BufferedImage image = new BufferedImage(4, 2, type);
        image.getRaster().setSamples(0, 0, 4, 2, 0, samples);
        return write(dir, name, format, image);
    }

    private static Path write(Path dir, String name, String format, BufferedImage image) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(name);
        assertTrue(ImageIO.write(image, format, file.toFile()), "no ImageIO writer for " + format);
        return file;
    }

    /** The expected CHW floats of {@link #RGB}. */
    private static float[] rgbChw() {
        float[] data = new float[18];
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                int p = RGB[y][x];
                data[y * 3 + x] = ((p >> 16) & 0xff) / 255f;
                data[6 + y * 3 + x] = ((p >> 8) & 0xff) / 255f;
                data[12 + y * 3 + x] = (p & 0xff) / 255f;
            }
        }
        return data;
    }

    private static void fails(Executable open, Path named, String... fragments) {
        DatasetException e = assertThrows(DatasetException.class, open);
        assertTrue(e.getMessage().contains(named.toAbsolutePath().toString()), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "no \"" + fragment + "\" in: " + e.getMessage());
        }
    }

    @Test
    @DisplayName("classes are the sorted folder names; images sorted by name within each; other and hidden files skipped")
    void classesAndOrder() throws IOException {
        colour(root.resolve("dog"), "b.png", "png", BufferedImage.TYPE_INT_RGB);
        colour(root.resolve("dog"), "A.JPG", "jpg", BufferedImage.TYPE_INT_RGB);
        colour(root.resolve("dog"), "c.Jpeg", "jpg", BufferedImage.TYPE_INT_RGB);
        colour(root.resolve("cat"), "z.bmp", "bmp", BufferedImage.TYPE_INT_RGB);
        colour(root.resolve("cat"), "y.gif", "gif", BufferedImage.TYPE_INT_RGB);
        colour(root.resolve("cat"), "._y.png", "png", BufferedImage.TYPE_INT_RGB); // macOS resource fork
        Files.writeString(root.resolve("cat/notes.txt"), "not an image");
        Files.writeString(root.resolve("cat/.DS_Store"), "hidden");
        Files.createDirectories(root.resolve(".cache/x"));
        Files.writeString(root.resolve("README"), "a file beside the classes");

        ImageFolderDataset d = ImageFolderDataset.open(root);
        assertEquals(List.of("cat", "dog"), d.classNames());
        assertEquals(2, d.numClasses());
        assertEquals(5, d.size());
        List<String> files = List.of("cat/y.gif", "cat/z.bmp", "dog/A.JPG", "dog/b.png", "dog/c.Jpeg");
        for (int i = 0; i < files.size(); i++) {
            assertEquals(root.resolve(files.get(i)), d.file(i));
            assertEquals(i < 2 ? 0 : 1, d.label(i));
        }
        assertTrue(d.describe().contains(root.toString()), d.describe());
    }

    @Test
    @DisplayName("lossless colour formats (PNG, BMP, palette GIF) decode to exact RGB in CHW order")
    void exactColour() throws IOException {
        colour(root.resolve("a"), "1.png", "png", BufferedImage.TYPE_INT_RGB);
        colour(root.resolve("a"), "2.bmp", "bmp", BufferedImage.TYPE_3BYTE_BGR);
        palette(root.resolve("a"), "3.gif", false);
        ImageFolderDataset d = ImageFolderDataset.open(root);
        assertArrayEquals(paletteChw(3), d.image(2).data(), d.file(2).toString());
        for (int i = 0; i < 2; i++) {
            Image image = d.image(i);
            assertEquals(3, image.channels(), d.file(i).toString());
            assertEquals(2, image.height());
            assertEquals(3, image.width());
            assertArrayEquals(rgbChw(), image.data(), d.file(i).toString());
        }
        assertEquals(0x10 / 255f, d.image(0).get(0, 1, 0)); // red of the pixel at row 1, column 0
        assertEquals(0xdc / 255f, d.image(0).get(1, 1, 1)); // green at row 1, column 1
    }

    @Test
    @DisplayName("alpha is dropped: an RGBA PNG gives its RGB, not premultiplied")
    void alphaDropped() throws IOException {
        BufferedImage image = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
        image.setRGB(0, 0, 0x40c08020); // alpha 0x40
        write(root.resolve("a"), "x.png", "png", image);
        Image decoded = ImageFolderDataset.open(root).image(0);
        assertEquals(3, decoded.channels());
        assertArrayEquals(new float[] {0xc0 / 255f, 0x80 / 255f, 0x20 / 255f}, decoded.data());
    }

    @Test
    @DisplayName("grey images give one channel with their exact sample values, 8-bit and 16-bit")
    void grey() throws IOException {
        int[] bytes = {0, 1, 100, 128, 200, 254, 255, 37};
        grey(root.resolve("g"), "8bit.png", "png", BufferedImage.TYPE_BYTE_GRAY, bytes);
        int[] shorts = {0, 1, 1000, 32768, 40000, 65534, 65535, 12345};
        grey(root.resolve("g"), "9-16bit.png", "png", BufferedImage.TYPE_USHORT_GRAY, shorts);
        ImageFolderDataset d = ImageFolderDataset.open(root);
        Image eight = d.image(0);
        Image sixteen = d.image(1);
        assertEquals(1, eight.channels());
        assertEquals(1, sixteen.channels());
        for (int i = 0; i < 8; i++) {
            // getRGB() would have gamma-converted these: 100 comes back from it as 168
            assertEquals(bytes[i] / 255f, eight.data()[i]);
            assertEquals(shorts[i] / 65535f, sixteen.data()[i]);
        }
    }

    @Test
    @DisplayName("a grey image of float, 32-bit or signed samples (a TIFF named .png, read by content) fails naming the"
            + " file and the samples expected")
    void deepGrey() throws IOException {
        Path floats = greyTiff(root.resolve("t"), "float.png", DataBuffer.TYPE_FLOAT, 32);
        Path ints = greyTiff(root.resolve("t"), "int32.png", DataBuffer.TYPE_INT, 32);
        Path signed = greyTiff(root.resolve("t"), "signed.png", DataBuffer.TYPE_SHORT, 16);
        ImageFolderDataset d = ImageFolderDataset.open(root);
        String expected = " samples: expected unsigned integer samples of at most 16 bits (such as an 8- or 16-bit grey PNG)";
        assertEquals(floats + ": a grey image of 32-bit floating-point" + expected,
                assertThrows(DatasetException.class, () -> d.image(0)).getMessage());
        assertEquals(ints + ": a grey image of 32-bit unsigned integer" + expected,
                assertThrows(DatasetException.class, () -> d.image(1)).getMessage());
        assertEquals(signed + ": a grey image of 16-bit signed integer" + expected,
                assertThrows(DatasetException.class, () -> d.image(2)).getMessage());
    }

    /** Writes a 4x2 grey TIFF of {@code bits}-bit samples of {@code transferType} (values 0 to 7) to {@code dir/name}. */
    private static Path greyTiff(Path dir, String name, int transferType, int bits) throws IOException {
        ColorModel model = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), new int[] {bits}, false,
                false, Transparency.OPAQUE, transferType);
        WritableRaster raster = model.createCompatibleWritableRaster(4, 2);
        raster.setSamples(0, 0, 4, 2, 0, new int[] {0, 1, 2, 3, 4, 5, 6, 7});
        Path file = write(dir, name, "tiff", new BufferedImage(model, raster, false, null));
        BufferedImage back = ImageIO.read(file.toFile());
        assertEquals(transferType, back.getRaster().getTransferType(), "the TIFF reads back with the samples written");
        assertEquals(bits, back.getColorModel().getComponentSize(0));
        return file;
    }

    @Test
    @DisplayName("a palette image whose palette is all grey gives one channel")
    void greyPalette() throws IOException {
        palette(root.resolve("p"), "grey.gif", true);
        Image image = ImageFolderDataset.open(root).image(0);
        assertEquals(1, image.channels());
        assertArrayEquals(paletteChw(1), image.data());
    }

    @Test
    @DisplayName("JPEG decodes colour to 3 channels and grey to 1, close to the written values (lossy)")
    void jpeg() throws IOException {
        BufferedImage flat = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                flat.setRGB(x, y, 0x3366cc);
            }
        }
        write(root.resolve("j"), "colour.jpg", "jpg", flat);
        int[] greys = new int[8];
        Arrays.fill(greys, 90);
        grey(root.resolve("j"), "grey.jpeg", "jpg", BufferedImage.TYPE_BYTE_GRAY, greys);
        ImageFolderDataset d = ImageFolderDataset.open(root);
        Image colour = d.image(0);
        assertEquals(3, colour.channels());
        assertEquals(16, colour.height());
        assertEquals(0x33 / 255f, colour.get(0, 8, 8), 4 / 255f);
        assertEquals(0x66 / 255f, colour.get(1, 8, 8), 4 / 255f);
        assertEquals(0xcc / 255f, colour.get(2, 8, 8), 4 / 255f);
        Image grey = d.image(1);
        assertEquals(1, grey.channels());
        assertEquals(90 / 255f, grey.get(0, 1, 2), 2 / 255f);
    }

    @Test
    @DisplayName("a missing root, a file as root, and a root without class folders fail naming the path")
    void badRoots() throws IOException {
        Path missing = root.resolve("missing");
        fails(() -> ImageFolderDataset.open(missing), missing, "does not exist", "expected a directory of class folders");
        Path file = Files.writeString(root.resolve("file.png"), "x");
        fails(() -> ImageFolderDataset.open(file), file, "is a file", "expected a directory of class folders");
        Path empty = Files.createDirectories(root.resolve("empty"));
        Files.writeString(empty.resolve("loose.png"), "images must be inside class folders");
        fails(() -> ImageFolderDataset.open(empty), empty, "a dataset with no classes", "one subdirectory per class");
    }

    @Test
    @DisplayName("a class folder without images fails, naming the folder and the extensions looked for")
    void emptyClass() throws IOException {
        colour(root.resolve("full"), "a.png", "png", BufferedImage.TYPE_INT_RGB);
        Path hollow = Files.createDirectories(root.resolve("hollow"));
        Files.writeString(hollow.resolve("readme.txt"), "no images here");
        fails(() -> ImageFolderDataset.open(root), hollow, "class 'hollow' has no images", ".png, .jpg, .jpeg, .bmp or .gif");
    }

    @Test
    @DisplayName("undecodable files fail when read (not when listed), naming the file: garbage and a truncated PNG")
    void corruptImages() throws IOException {
        Path garbage = Files.createDirectories(root.resolve("c")).resolve("garbage.png");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Path good = colour(root.resolve("c"), "good.png", "png", BufferedImage.TYPE_INT_RGB);
        byte[] png = Files.readAllBytes(good);
        Path cut = Files.write(root.resolve("c/truncated.png"), Arrays.copyOf(png, png.length / 2));
        ImageFolderDataset d = ImageFolderDataset.open(root); // lazy: listing succeeds
        assertEquals(3, d.size());
        fails(() -> d.image(0), garbage, "not a decodable image", "expected PNG, JPEG, BMP or GIF");
        assertEquals(3, d.image(1).channels());
        fails(() -> d.image(2), cut, "cannot decode the image");
    }

    @Test
    @DisplayName("an image whose header claims 100000 x 100000 pixels fails naming the size, before decoding")
    void hugeDimensions() throws IOException {
        Path png = colour(root.resolve("c"), "huge.png", "png", BufferedImage.TYPE_INT_RGB);
        byte[] bytes = Files.readAllBytes(png);
        ByteBuffer.wrap(bytes).putInt(16, 100_000).putInt(20, 100_000); // IHDR width and height (big-endian)
        Files.write(png, bytes);
        ImageFolderDataset d = ImageFolderDataset.open(root);
        fails(() -> d.image(0), png, "claims 100000x100000 pixels: expected at most " + ImageOps.MAX_PIXELS);
    }
}

package dev.scalenet.data;

import static dev.scalenet.data.IdxDatasetTest.gzip;
import static dev.scalenet.data.IdxDatasetTest.images;
import static dev.scalenet.data.IdxDatasetTest.labels;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path root;

    /** One PNG per named class under {@code dir}. */
    private static Path classFolders(Path dir, String... classes) throws IOException {
        for (String c : classes) {
            ImageFolderDatasetTest.colour(dir.resolve(c), "1.png", "png", BufferedImage.TYPE_INT_RGB);
        }
        return dir;
    }

    private static DatasetException fails(Path path, Split split, String... fragments) {
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(path, split));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "no \"" + fragment + "\" in: " + e.getMessage());
        }
        return e;
    }

    @Test
    @DisplayName("the bundled Fashion-MNIST directory is IDX: TRAIN is the 60000 training images, EVAL the 10000 t10k")
    void bundledFashionMnist() throws IOException {
        Path dir = FashionMnist.dir();
        assertEquals(Datasets.Layout.IDX, Datasets.layout(dir));
        ImageDataset eval = Datasets.open(dir, Split.EVAL);
        assertEquals(10000, eval.size());
        assertTrue(eval.describe().contains("t10k-images-idx3-ubyte.gz"), eval.describe());
        assertEquals(FashionMnist.test().classNames(), eval.classNames());
        ImageDataset train = Datasets.open(dir, Split.TRAIN);
        assertEquals(60000, train.size());
        assertEquals(9, train.label(0));
    }

    @Test
    @DisplayName("IDX: test-* names serve EVAL; of a raw and a gzipped copy, the raw file is read")
    void idxNames() throws IOException {
        Files.write(root.resolve("train-images-idx3-ubyte"), images(3, 2, 2));
        Files.write(root.resolve("train-labels-idx1-ubyte"), labels(0, 1, 1));
        Files.write(root.resolve("train-labels-idx1-ubyte.gz"), gzip(labels(2, 2, 2))); // differs, to tell which is read
        Files.write(root.resolve("test-images-idx3-ubyte.gz"), gzip(images(2, 2, 2)));
        Files.write(root.resolve("test-labels-idx1-ubyte.gz"), gzip(labels(1, 0)));
        ImageDataset train = Datasets.open(root, Split.TRAIN);
        assertEquals(List.of(0, 1, 1), List.of(train.label(0), train.label(1), train.label(2)));
        ImageDataset eval = Datasets.open(root, Split.EVAL);
        assertEquals(2, eval.size());
        assertEquals(1, eval.label(0));
    }

    @Test
    @DisplayName("IDX: a missing split, or images without labels, fail listing the names looked for")
    void idxMissing() throws IOException {
        Files.write(root.resolve("train-images-idx3-ubyte.gz"), gzip(images(1, 1, 1)));
        Files.write(root.resolve("train-labels-idx1-ubyte.gz"), gzip(labels(0)));
        fails(root, Split.EVAL, root.toString(), "EVAL", "t10k-images-idx3-ubyte[.gz] + t10k-labels-idx1-ubyte[.gz]",
                "test-images-idx3-ubyte[.gz] + test-labels-idx1-ubyte[.gz]");
        Files.write(root.resolve("t10k-images-idx3-ubyte"), images(1, 1, 1));
        fails(root, Split.EVAL, "found t10k-images-idx3-ubyte but not t10k-labels-idx1-ubyte[.gz]");
    }

    @Test
    @DisplayName("split folders: train/ for TRAIN; val/, else validation/, else test/ for EVAL")
    void splitFolders() throws IOException {
        classFolders(root.resolve("train"), "ant", "bee");
        classFolders(root.resolve("test"), "ant", "bee");
        assertEquals(Datasets.Layout.SPLIT_FOLDERS, Datasets.layout(root));
        assertTrue(Datasets.open(root, Split.TRAIN).describe().endsWith("train"));
        assertTrue(Datasets.open(root, Split.EVAL).describe().endsWith("test"));
        classFolders(root.resolve("validation"), "ant", "bee");
        assertTrue(Datasets.open(root, Split.EVAL).describe().endsWith("validation"));
        classFolders(root.resolve("val"), "ant", "bee");
        ImageDataset eval = Datasets.open(root, Split.EVAL);
        assertInstanceOf(ImageFolderDataset.class, eval);
        assertTrue(eval.describe().endsWith("val"), eval.describe());
        assertEquals(List.of("ant", "bee"), eval.classNames());
    }

    @Test
    @DisplayName("split folders: a missing split fails rather than falling back to the other one")
    void splitMissing() throws IOException {
        classFolders(root.resolve("train"), "ant");
        fails(root, Split.EVAL, root.toString(), "EVAL", "looked for val/ or validation/ or test/", "found train/");
        Path other = Files.createDirectories(root.resolve("other"));
        classFolders(other.resolve("val"), "ant");
        fails(other, Split.TRAIN, other.toString(), "TRAIN", "looked for train/", "found val/");
    }

    @Test
    @DisplayName("split folders with different classes fail, naming the folders and the differing classes")
    void splitClassMismatch() throws IOException {
        classFolders(root.resolve("train"), "ant", "bee", "cat");
        classFolders(root.resolve("val"), "ant", "cat", "dog");
        for (Split split : Split.values()) {
            fails(root, split, root.toString(), "train/ and val/", "different class folders", "only in train/ [bee]",
                    "only in val/ [dog]");
        }
    }

    @Test
    @DisplayName("a directory of class folders is one split, returned for whichever split the caller names")
    void classFolderDirectory() throws IOException {
        classFolders(root, "ant", "bee");
        assertEquals(Datasets.Layout.CLASS_FOLDERS, Datasets.layout(root));
        for (Split split : Split.values()) {
            ImageDataset d = Datasets.open(root, split);
            assertEquals(List.of("ant", "bee"), d.classNames());
            assertEquals(2, d.size());
        }
    }

    @Test
    @DisplayName("nothing recognisable fails, listing every layout looked for; so do a missing path and a file")
    void nothingMatches() throws IOException {
        Files.writeString(root.resolve("notes.txt"), "no data here");
        DatasetException e = fails(root, Split.TRAIN, root.toString(), "no dataset found",
                "train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz]", "t10k-images-idx3-ubyte[.gz]",
                "train/", "val/ or validation/ or test/", "class folders", ".png");
        assertEquals(e.getMessage(), assertThrows(DatasetException.class, () -> Datasets.layout(root)).getMessage());
        Path missing = root.resolve("missing");
        fails(missing, Split.EVAL, missing.toString(), "does not exist");
        fails(root.resolve("notes.txt"), Split.TRAIN, "notes.txt", "is a file", "pass the directory holding them");
    }

    @Test
    @DisplayName("problem: empty for a recognised folder; otherwise the complaint without the folder, and where a relative path starts")
    void problemForAFrontEnd() throws IOException {
        assertEquals(Optional.empty(), Datasets.problem(FashionMnist.dir()));
        assertEquals(Optional.empty(), Datasets.problem(classFolders(root.resolve("cats-dogs"), "cat", "dog")));
        Path empty = Files.createDirectories(root.resolve("empty"));
        String none = Datasets.problem(empty).orElseThrow();
        assertTrue(none.startsWith("no dataset found: looked for "), none);
        assertFalse(none.contains(empty.toString()), "the caller names the folder: " + none);
        Path relative = Path.of("no", "such", "folder");
        String missing = Datasets.problem(relative).orElseThrow();
        assertTrue(missing.startsWith("does not exist: expected a dataset directory ("), missing);
        assertTrue(missing.endsWith(") (relative paths start at " + Path.of("").toAbsolutePath() + ")"), missing);
    }
}

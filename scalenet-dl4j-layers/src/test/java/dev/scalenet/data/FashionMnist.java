package dev.scalenet.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The bundled Fashion-MNIST files ({@code data/fashion-mnist/} at the repository root), read once per test JVM. */
public final class FashionMnist {
    private static IdxDataset train;
    private static IdxDataset test;

    private FashionMnist() {
    }

    /** Tests run in the module directory, one level below the repository root. */
    public static Path dir() {
        Path dir = Paths.get("../data/fashion-mnist").toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("missing the bundled dataset " + dir
                    + " (tests run in the module directory)");
        }
        return dir;
    }

    public static synchronized IdxDataset train() throws DatasetException {
        if (train == null) {
            train = IdxDataset.read(dir().resolve("train-images-idx3-ubyte.gz"),
                    dir().resolve("train-labels-idx1-ubyte.gz"));
        }
        return train;
    }

    public static synchronized IdxDataset test() throws DatasetException {
        if (test == null) {
            test = IdxDataset.read(dir().resolve("t10k-images-idx3-ubyte.gz"),
                    dir().resolve("t10k-labels-idx1-ubyte.gz"));
        }
        return test;
    }
}

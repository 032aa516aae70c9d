package dev.scalenet.data;

import java.io.IOException;
import java.util.List;

/**
 * An indexed, labelled image dataset: examples {@code 0 .. size() - 1}, each an image at its native
 * size with pixels in [0, 1] and a label in {@code 0 .. numClasses() - 1}.
 *
 * <p>Implementations are immutable and safe to read from several threads. Two splits of one dataset
 * are compatible when their {@link #classNames()} are equal: label {@code k} means the same class.
 */
public interface ImageDataset {
    /** The number of examples. */
    int size();

    /** The number of classes; labels are below it. */
    default int numClasses() {
        return classNames().size();
    }

    /** The class names, indexed by label; {@code numClasses()} of them. */
    List<String> classNames();

    /** The label of example {@code index}. */
    int label(int index);

    /**
     * The pixels of example {@code index}: 1 channel (grey) or 3 (RGB), values in [0, 1], a new array
     * on every call.
     *
     * @throws IOException if the example cannot be read or decoded; the message names its file
     */
    Image image(int index) throws IOException;

    /** Where example {@code index} was read from, for error messages: its file if it has one of its own. */
    default String source(int index) {
        return describe() + ", example " + index;
    }

    /** What this dataset was read from (its files or folder), for error messages and reports. */
    String describe();
}

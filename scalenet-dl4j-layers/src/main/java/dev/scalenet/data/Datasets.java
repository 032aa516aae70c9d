package dev.scalenet.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Opens one split of a dataset from a directory, whatever its layout:
 * <ol>
 *   <li>{@link Layout#IDX}: MNIST-style IDX files, {@code train-images-idx3-ubyte} and
 *       {@code train-labels-idx1-ubyte} for {@link Split#TRAIN}, {@code t10k-*} (or {@code test-*}, or {@code val-*} as {@link HoldOut#save} writes)
 *       for {@link Split#EVAL}, each raw or with {@code .gz} (the raw file wins when both exist);</li>
 *   <li>{@link Layout#SPLIT_FOLDERS}: a root with {@code train/} and {@code val/} (or
 *       {@code validation/}, or {@code test/}, the first present in that order), each a folder of
 *       class folders; both splits must have the same class folders, so labels mean the same;</li>
 *   <li>{@link Layout#CLASS_FOLDERS}: a directory that is itself one split of class folders.</li>
 * </ol>
 *
 * <p>A {@code CLASS_FOLDERS} directory is returned for whichever split is asked for, because the
 * caller named that directory for that split. Nothing else ever stands in for a missing split: a
 * split root without {@code val/} fails for {@code EVAL} rather than falling back to {@code train/}.
 * A command that takes one path and derives both splits from it should check {@link #layout} and,
 * for {@code CLASS_FOLDERS}, ask for a separate evaluation path instead of silently evaluating on
 * the training images.
 *
 * <p>The layouts are tried in the order above; a class-folder dataset with a class named
 * {@code train}, {@code val}, {@code validation} or {@code test} is therefore taken for a split root.
 */
public final class Datasets {
    static final String IMAGES_SUFFIX = "-images-idx3-ubyte";
    static final String LABELS_SUFFIX = "-labels-idx1-ubyte";
    /** The IDX prefixes {@link HoldOut#save} writes: the training split's, and the held-out part's (an evaluation split). */
    static final String TRAIN_PREFIX = "train";
    static final String VALIDATION_PREFIX = "val";
    private static final List<String> TRAIN_IDX_PREFIXES = List.of(TRAIN_PREFIX);
    private static final List<String> EVAL_IDX_PREFIXES = List.of("t10k", "test", VALIDATION_PREFIX);
    private static final List<String> TRAIN_FOLDERS = List.of("train");
    private static final List<String> EVAL_FOLDERS = List.of("val", "validation", "test");

    /** How a directory holds its data; see {@link Datasets}. */
    public enum Layout {
        IDX,
        SPLIT_FOLDERS,
        CLASS_FOLDERS
    }

    private Datasets() {
    }

    /**
     * Recognises the layout of {@code path} from names alone (nothing is read).
     *
     * @throws DatasetException if path is missing, not a directory, or matches no layout; the
     *     message lists what was looked for
     */
    public static Layout layout(Path path) throws DatasetException {
        Path dir = path.toAbsolutePath().normalize();
        if (!Files.exists(dir)) {
            throw new DatasetException(dir + ": does not exist: expected a dataset directory (" + lookedFor() + ")");
        }
        if (!Files.isDirectory(dir)) {
            throw new DatasetException(dir + ": is a file: expected a dataset directory (" + lookedFor()
                    + "); for IDX files, pass the directory holding them");
        }
        List<String> idxPrefixes = new ArrayList<>(TRAIN_IDX_PREFIXES);
        idxPrefixes.addAll(EVAL_IDX_PREFIXES);
        for (String prefix : idxPrefixes) {
            if (find(dir, prefix + IMAGES_SUFFIX).isPresent() || find(dir, prefix + LABELS_SUFFIX).isPresent()) {
                return Layout.IDX;
            }
        }
        if (firstFolder(dir, TRAIN_FOLDERS).isPresent() || firstFolder(dir, EVAL_FOLDERS).isPresent()) {
            return Layout.SPLIT_FOLDERS;
        }
        if (!ImageFolderDataset.classFolders(dir).isEmpty()) {
            return Layout.CLASS_FOLDERS;
        }
        throw new DatasetException(dir + ": no dataset found: looked for " + lookedFor());
    }

    /**
     * What is wrong with {@code path} as a dataset folder ({@link #layout}'s complaint), or empty when its layout is
     * recognised: the check a front end makes before any work, to report under its own name for the setting. The
     * folder is not repeated, as the caller names it with the setting; a relative path is told where relative paths
     * start, which is what a user who typed it needs to know.
     */
    public static Optional<String> problem(Path path) {
        try {
            layout(path);
            return Optional.empty();
        } catch (DatasetException e) {
            String problem = String.valueOf(e.getMessage())
                    .replaceFirst("^\\Q" + path.toAbsolutePath().normalize() + "\\E: ", "");
            return Optional.of(problem + (path.isAbsolute() ? "" : " (relative paths start at " + Path.of("").toAbsolutePath() + ")"));
        }
    }

    /**
     * Opens {@code split} of the dataset at {@code path} (see {@link Datasets} for the layouts).
     *
     * @throws DatasetException if the layout is not recognised, the split is missing (the message
     *     lists the names looked for), or its files are malformed
     */
    public static ImageDataset open(Path path, Split split) throws DatasetException {
        Path dir = path.toAbsolutePath().normalize();
        return switch (layout(dir)) {
            case IDX -> openIdx(dir, split);
            case SPLIT_FOLDERS -> openSplitFolder(dir, split);
            case CLASS_FOLDERS -> ImageFolderDataset.open(dir);
        };
    }

    private static ImageDataset openIdx(Path dir, Split split) throws DatasetException {
        List<String> prefixes = split == Split.TRAIN ? TRAIN_IDX_PREFIXES : EVAL_IDX_PREFIXES;
        for (String prefix : prefixes) {
            Optional<Path> images = find(dir, prefix + IMAGES_SUFFIX);
            Optional<Path> labels = find(dir, prefix + LABELS_SUFFIX);
            if (images.isPresent() && labels.isPresent()) {
                return IdxDataset.read(images.get(), labels.get());
            }
            if (images.isPresent() || labels.isPresent()) {
                String missing = prefix + (images.isPresent() ? LABELS_SUFFIX : IMAGES_SUFFIX) + "[.gz]";
                throw new DatasetException(dir + ": found " + images.or(() -> labels).get().getFileName()
                        + " but not " + missing + " beside it for the " + split + " split");
            }
        }
        throw new DatasetException(dir + ": IDX files for the " + split + " split are missing: looked for "
                + idxNames(prefixes));
    }

    private static ImageDataset openSplitFolder(Path root, Split split) throws DatasetException {
        List<String> wanted = split == Split.TRAIN ? TRAIN_FOLDERS : EVAL_FOLDERS;
        List<String> other = split == Split.TRAIN ? EVAL_FOLDERS : TRAIN_FOLDERS;
        Path dir = firstFolder(root, wanted).orElseThrow(() -> new DatasetException(root + ": has no folder for the "
                + split + " split: looked for " + folderNames(wanted) + " (found " + folderNames(presentFolders(root))
                + ")"));
        ImageFolderDataset dataset = ImageFolderDataset.open(dir);
        Optional<Path> otherDir = firstFolder(root, other);
        if (otherDir.isPresent()) {
            List<String> otherClasses = ImageFolderDataset.classFolders(otherDir.get()).stream()
                    .map(p -> p.getFileName().toString()).toList();
            if (!otherClasses.equals(dataset.classNames())) {
                // named train first whichever split was asked for, so the message reads the same both ways
                boolean train = split == Split.TRAIN;
                String trainName = (train ? dir : otherDir.get()).getFileName() + "/";
                String evalName = (train ? otherDir.get() : dir).getFileName() + "/";
                List<String> trainClasses = train ? dataset.classNames() : otherClasses;
                List<String> evalClasses = train ? otherClasses : dataset.classNames();
                throw new DatasetException(root + ": " + trainName + " and " + evalName
                        + " have different class folders, so a label would mean different classes: "
                        + difference(trainName, trainClasses, evalName, evalClasses));
            }
        }
        return dataset;
    }

    /** {@code dir/name}, else {@code dir/name.gz}, if a regular file. */
    private static Optional<Path> find(Path dir, String name) {
        for (String candidate : List.of(name, name + ".gz")) {
            Path p = dir.resolve(candidate);
            if (Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    private static Optional<Path> firstFolder(Path root, List<String> names) {
        return names.stream().map(root::resolve).filter(Files::isDirectory).findFirst();
    }

    private static List<String> presentFolders(Path root) {
        List<String> all = new ArrayList<>(TRAIN_FOLDERS);
        all.addAll(EVAL_FOLDERS);
        return all.stream().filter(n -> Files.isDirectory(root.resolve(n))).toList();
    }

    private static String lookedFor() {
        return "IDX files " + idxNames(TRAIN_IDX_PREFIXES) + " (evaluation: " + idxNames(EVAL_IDX_PREFIXES)
                + "), or split folders " + folderNames(TRAIN_FOLDERS) + " and " + folderNames(EVAL_FOLDERS)
                + " holding class folders, or class folders holding images ("
                + String.join(", ", ImageFolderDataset.EXTENSIONS.stream().sorted().toList()) + ")";
    }

    private static String idxNames(List<String> prefixes) {
        return String.join(" or ", prefixes.stream()
                .map(p -> p + IMAGES_SUFFIX + "[.gz] + " + p + LABELS_SUFFIX + "[.gz]").toList());
    }

    private static String folderNames(List<String> names) {
        return names.isEmpty() ? "none" : String.join(" or ", names.stream().map(n -> n + "/").toList());
    }

    /** The names only one side has, at most 10 each, so 1000-class datasets give readable errors. */
    private static String difference(String nameA, List<String> a, String nameB, List<String> b) {
        Set<String> setA = new HashSet<>(a);
        Set<String> setB = new HashSet<>(b);
        return "only in " + nameA + " " + a.stream().filter(n -> !setB.contains(n)).limit(10).toList()
                + ", only in " + nameB + " " + b.stream().filter(n -> !setA.contains(n)).limit(10).toList();
    }
}

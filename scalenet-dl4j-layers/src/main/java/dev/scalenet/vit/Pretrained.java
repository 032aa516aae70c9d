package dev.scalenet.vit;

import dev.scalenet.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Pretrained ViTs that ship inside this library's jar (no package reachable from a build ships ViT weights, so
 * the project trains its own; see the model card beside the weights). Each is a timm {@code .safetensors} with
 * its metadata JSON, also published as Maven artifacts of this library:
 * {@code dev.scalenet:scalenet-dl4j-layers:<version>:safetensors:<name>} (and {@code :json:<name>}).
 */
public enum Pretrained {
    /**
     * A 4-block ViT (patch 7, width 64, 4 heads, MLP ratio 2; 139,018 parameters) trained from scratch on
     * Fashion-MNIST: 28x28 grey images, 10 classes.
     */
    VIT_FMNIST_D64_L4("vit_fmnist_d64_l4");

    private static final String FOLDER = "/dev/scalenet/pretrained/";

    private final String fileStem;

    Pretrained(String fileStem) {
        this.fileStem = fileStem;
    }

    /** The name used in file names and Maven classifiers, e.g. {@code vit_fmnist_d64_l4}. */
    public String id() {
        return fileStem;
    }

    /** Looks a model up by {@link #id()} (any case). */
    public static Pretrained byId(String id) {
        for (Pretrained p : values()) {
            if (p.fileStem.equalsIgnoreCase(id)) return p;
        }
        throw new dev.scalenet.InvalidSettingException("pretrained model", id, "one of "
                + java.util.Arrays.stream(values()).map(Pretrained::id).collect(java.util.stream.Collectors.joining(", ")));
    }

    /** Loads the model (a fresh graph each call). */
    public VitModel load() throws IOException {
        Path dir = Files.createTempDirectory("scalenet-pretrained");
        try {
            return VitModel.load(extract(dir), null);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
    }

    /** Copies the safetensors and its JSON into {@code dir}; returns the safetensors path. */
    public Path extract(Path dir) throws IOException {
        Files.createDirectories(dir);
        copy(fileStem + ".safetensors", dir);
        copy(fileStem + ".json", dir);
        return dir.resolve(fileStem + ".safetensors");
    }

    private static void copy(String resource, Path dir) throws IOException {
        try (InputStream in = Pretrained.class.getResourceAsStream(FOLDER + resource)) {
            if (in == null) {
                throw new IOException("the pretrained model file " + FOLDER + resource + " is missing from the class path");
            }
            AtomicFiles.write(dir.resolve(resource), in::transferTo); // an interrupted copy leaves no partial model
        }
    }

    @Override
    public String toString() {
        return id().toLowerCase(Locale.ROOT);
    }
}

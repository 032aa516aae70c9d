package dev.scalenet.vit;

import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import org.deeplearning4j.zoo.PretrainedType;

/**
 * Pretrained ViTs that ship inside this library's jar (no package reachable from a build ships ViT weights, so
 * the project trains its own; see the model card beside the weights). Each is a timm {@code .safetensors} with
 * its metadata JSON, also published as Maven artifacts of this library:
 * {@code dev.scalenet:scalenet-dl4j-layers:<version>:safetensors:<name>} (and {@code :json:<name>}).
 *
 * <p>Three ways in: {@code Pretrained.load("vit_fmnist_d64_l4")} (by id), {@code VIT_FMNIST_D64_L4.load()}, or
 * DL4J's zoo convention, {@code VisionTransformer.builder().config(VIT_FMNIST_D64_L4.config()).build()
 * .initPretrained()} (see {@link VisionTransformer#initPretrained(PretrainedType)}).
 */
public enum Pretrained {
    /**
     * A 4-block ViT (patch 7, width 64, 4 heads, MLP ratio 2; 139,018 parameters) trained from scratch on
     * Fashion-MNIST: 28x28 grey images, 10 classes.
     */
    VIT_FMNIST_D64_L4("vit_fmnist_d64_l4", PretrainedType.MNIST);

    private static final String FOLDER = "/dev/scalenet/pretrained/";

    private final String fileStem;
    private final PretrainedType type;

    Pretrained(String fileStem, PretrainedType type) {
        this.fileStem = fileStem;
        this.type = type;
    }

    /**
     * DL4J's name for what it was trained on. DL4J's {@link PretrainedType} has no Fashion-MNIST: {@code MNIST} is
     * its slot for 28x28 grey 10-class images, so the Fashion-MNIST model answers to it.
     */
    public PretrainedType type() {
        return type;
    }

    /** The architecture, read from the bundled JSON's timm constructor arguments. */
    public VitConfig config() {
        try (InputStream in = Pretrained.class.getResourceAsStream(FOLDER + fileStem + ".json")) {
            if (in == null) throw new IllegalStateException(FOLDER + fileStem + ".json is missing from the class path");
            return VitConfig.fromTimmArgs(Json.parse(in.readAllBytes()), VitConfig.builder());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(FOLDER + fileStem + ".json: " + e.getMessage(), e);
        }
    }

    /** The bundled model trained on {@code type} with exactly the architecture {@code config}, if there is one. */
    public static Optional<Pretrained> find(PretrainedType type, VitConfig config) {
        return Arrays.stream(values()).filter(p -> p.type == type && p.config().equals(config)).findFirst();
    }

    /** Loads the model with the given {@link #id()} (any case); an unknown id fails listing the ids there are. */
    public static VitModel load(String id) throws IOException {
        return byId(id).load();
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
        return withExtracted(file -> VitModel.load(file, null));
    }

    /** Something read from the safetensors file, extracted for that moment into a temporary folder. */
    <T> T withExtracted(IoFunction<Path, T> read) throws IOException {
        Path dir = Files.createTempDirectory("scalenet-pretrained");
        try {
            return read.apply(extract(dir));
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The bundled weights as files: copies this model's timm {@code .safetensors} and its JSON (constructor,
     * {@code pretrained_cfg}, labels) out of the library's jar into {@code dir} (created if missing), and returns the
     * {@code .safetensors} path, for tools that take a file: {@code VitModel.load(file, null)}, timm's
     * {@code load_state_dict}, the plugin's {@code baseModel}, the command line's {@code --model}. Each file is written
     * whole or not at all.
     */
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

    /** A function that may throw {@link IOException}. */
    interface IoFunction<A, B> {
        B apply(A a) throws IOException;
    }

    @Override
    public String toString() {
        return id().toLowerCase(Locale.ROOT);
    }
}

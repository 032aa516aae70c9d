package dev.scalenet.vit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.io.Npy;
import dev.scalenet.io.NpyArray;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The timm reference vectors: by default the copies in test resources, or the folder named by
 * {@code -Dscalenet.fixtures=DIR}. One model per {@code <name>.json}, with {@code <name>.safetensors},
 * {@code <name>.inputs.npy}, {@code <name>.logits.npy} and {@code <name>.expanded-<tag>.logits.npy} per expansion.
 */
public final class TimmFixtures {
    public static final String PROPERTY = "scalenet.fixtures";

    private TimmFixtures() {}

    public static Path folder() {
        String dir = System.getProperty(PROPERTY);
        if (dir != null && !dir.isEmpty()) {
            Path p = Paths.get(dir);
            if (!Files.isDirectory(p)) throw new IllegalStateException("-D" + PROPERTY + "=" + dir + " is not a folder");
            return p;
        }
        try {
            return Paths.get(TimmFixtures.class.getResource("/fixtures/timm").toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("test resource folder /fixtures/timm not found", e);
        }
    }

    /** One reference model. */
    public static final class Model {
        public final String name;
        public final Path folder;
        public final JsonNode json;

        Model(String name, Path folder, JsonNode json) {
            this.name = name;
            this.folder = folder;
            this.json = json;
        }

        public Path weights() { return folder.resolve(name + ".safetensors"); }
        public Path constructorJson() { return folder.resolve(name + ".json"); }
        public INDArray inputs() { return read(folder.resolve(name + ".inputs.npy")); }
        public INDArray logits() { return read(folder.resolve(name + ".logits.npy")); }
        public INDArray expandedLogits(String tag) { return read(folder.resolve(name + ".expanded-" + tag + ".logits.npy")); }

        /** Expansion tag -> source block order. */
        public Map<String, int[]> expansions() {
            Map<String, int[]> m = new LinkedHashMap<>();
            JsonNode e = json.get("expansions");
            if (e == null) return m;
            for (Iterator<Map.Entry<String, JsonNode>> it = e.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                int[] order = new int[entry.getValue().size()];
                for (int i = 0; i < order.length; i++) order[i] = entry.getValue().get(i).intValue();
                m.put(entry.getKey(), order);
            }
            return m;
        }
    }

    public static List<Model> models() {
        Path dir = folder();
        List<Model> models = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path json : (Iterable<Path>) files.filter(f -> f.getFileName().toString().endsWith(".json")).sorted()::iterator) {
                String file = json.getFileName().toString();
                models.add(new Model(file.substring(0, file.length() - ".json".length()), dir, new ObjectMapper().readTree(json.toFile())));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (models.isEmpty()) throw new IllegalStateException("no *.json fixtures in " + dir);
        return models;
    }

    public static INDArray read(Path npy) {
        try {
            NpyArray a = Npy.read(npy);
            return Nd4j.create(a.data(), a.shape(), 'c');
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package dev.scalenet.cli;

import dev.scalenet.expand.ExpandedModel;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.io.Npy;
import dev.scalenet.io.NpyArray;
import dev.scalenet.vit.TimmCheckpoint;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Expands a timm checkpoint from the command line: {@code --key value} options, defaults in brackets.
 * <pre>
 *   --model     timm .safetensors         [the bundled vit-micro-p7-d4 reference model]
 *   --config    timm constructor JSON     [beside the model, same name .json]
 *   --depth     target depth              [2 x base depth]
 *   --strategy  cyclic | interleave       [cyclic]
 *   --rank      adapter rank              [8]
 *   --out       output folder             [target/scalenet]
 *   --inputs / --expected   .npy inputs and reference logits to check the expansion against
 * </pre>
 * Writes {@code <out>/expanded.zip} (DL4J ModelSerializer) and {@code <out>/expanded.safetensors} (timm names).
 */
public final class Expand {
    private static final String BUNDLED = "scalenet-dl4j-layers/src/test/resources/fixtures/timm/vit-micro-p7-d4";

    private Expand() {}

    public static void main(String[] args) throws IOException {
        Map<String, String> o = parse(args);
        Path model = resolve(o.getOrDefault("model", BUNDLED + ".safetensors"));
        String stem = model.toString().replaceFirst("\\.safetensors$", "");
        Path config = resolve(o.getOrDefault("config", stem + ".json"));
        Path out = resolve(o.getOrDefault("out", "target/scalenet"));

        ComputationGraph base = TimmCheckpoint.load(model, Files.exists(config) ? config : null);
        int baseDepth = dev.scalenet.vit.VisionTransformer.configOf(base).depth();
        int depth = Integer.parseInt(o.getOrDefault("depth", String.valueOf(2 * baseDepth)));
        ExpansionPlan plan = ExpansionPlan.of(ExpansionPlan.Strategy.parse(o.getOrDefault("strategy", "cyclic")), depth)
                .withAdapterRank(Integer.parseInt(o.getOrDefault("rank", String.valueOf(ExpansionPlan.DEFAULT_ADAPTER_RANK))));
        System.out.println("base model " + model + ": " + dev.scalenet.vit.VisionTransformer.configOf(base));
        ExpandedModel expanded = ScaleNet.expand(base, plan);
        System.out.println("plan " + plan + " -> " + expanded);

        Path inputs = o.containsKey("inputs") ? resolve(o.get("inputs")) : defaultFile(o, stem + ".inputs.npy");
        Path expected = o.containsKey("expected") ? resolve(o.get("expected"))
                : defaultFile(o, stem + ".expanded-" + plan.strategy().name().toLowerCase(java.util.Locale.ROOT) + "-" + depth + ".logits.npy");
        if (inputs != null && expected != null && Files.exists(inputs) && Files.exists(expected)) {
            INDArray x = array(Npy.read(inputs));
            INDArray want = array(Npy.read(expected));
            double err = Transforms.abs(expanded.graph().outputSingle(x).sub(want)).maxNumber().doubleValue();
            System.out.printf("check against %s: max |difference| = %.3g (tolerance 1e-4): %s%n", expected.getFileName(), err,
                    err <= 1e-4 ? "MATCH" : "MISMATCH");
            if (err > 1e-4) System.exit(1);
        }

        Files.createDirectories(out);
        Path zip = out.resolve("expanded.zip");
        Path tmp = out.resolve(".expanded.zip.tmp");
        ModelSerializer.writeModel(expanded.graph(), tmp.toFile(), true);
        Files.move(tmp, zip, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Path timm = out.resolve("expanded.safetensors");
        TimmCheckpoint.save(expanded.graph(), timm);
        System.out.println("wrote " + zip.toAbsolutePath() + " and " + timm.toAbsolutePath());
    }

    private static Path defaultFile(Map<String, String> o, String path) {
        return o.containsKey("model") ? null : resolve(path); // reference vectors exist for the bundled model only
    }

    private static INDArray array(NpyArray a) {
        return Nd4j.create(a.data(), a.shape(), 'c');
    }

    /** Relative paths are resolved against the project root when run from a module folder. */
    private static Path resolve(String path) {
        Path p = Paths.get(path);
        if (p.isAbsolute() || Files.exists(p)) return p;
        Path parent = Paths.get("..").resolve(path);
        return Files.exists(parent) ? parent.normalize() : p;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --key value pairs, got '" + args[i] + "'; see the class docs");
            }
            o.put(args[i].substring(2), args[++i]);
        }
        return o;
    }
}

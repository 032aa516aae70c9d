package dev.scalenet.onnx;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.layers.GlobalPool;
import dev.scalenet.vit.Features;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.TimmCheckpoint;
import dev.scalenet.vit.TimmFixtures;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import dev.scalenet.vit.VitModel;
import onnx.Onnx;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An exported model, run by ONNX Runtime, computes what the library computes, for every kind of model the library
 * builds, and its file stores a shared block once.
 *
 * <p>Tolerances. ONNX Runtime against the library: 1e-5 absolute on logits, pre-logits and tokens (values of order
 * 1-10). Both compute in float32 with other summation orders (MLAS against OpenBLAS GEMMs, fused against unfused
 * LayerNorm and softmax); that rounding is a few ulps of the values, about 1e-6 here, while a wrong epsilon, the
 * tanh GELU or a missing adapter or gate costs more than 1e-4. ONNX Runtime against timm's own logits: the 1e-4 of
 * {@code TimmParityTest}, since that is what the library promises against timm.
 */
class OnnxExportTest {
    static final double RUNTIME_TOLERANCE = 1e-5;
    static final double TIMM_TOLERANCE = 1e-4;
    private static final Set<Features.Kind> ALL_OUTPUTS = EnumSet.allOf(Features.Kind.class);

    @TempDir
    Path dir;

    @TestFactory
    @DisplayName("timm fixtures, base and held-out expansions: ONNX Runtime gives timm's logits and the library's")
    List<DynamicTest> timmFixtures() {
        List<DynamicTest> tests = new ArrayList<>();
        for (TimmFixtures.Model m : TimmFixtures.models()) {
            tests.add(DynamicTest.dynamicTest(m.name, () -> {
                ComputationGraph graph = TimmCheckpoint.load(m.weights(), m.constructorJson());
                INDArray ort = runExported(graph, m.inputs(), Set.of()).get(OnnxExport.LOGITS);
                assertClose(m.logits(), ort, TIMM_TOLERANCE, m.name + " vs timm");
                assertClose(Features.of(graph, m.inputs()).logits(), ort, RUNTIME_TOLERANCE, m.name + " vs library");
            }));
            m.expansions().forEach((tag, order) -> tests.add(DynamicTest.dynamicTest(m.name + " expanded-" + tag, () -> {
                ComputationGraph base = TimmCheckpoint.load(m.weights(), m.constructorJson());
                ComputationGraph expanded = ScaleNet.expand(base, ExpansionPlan.order(order).withAdapterRank(4)).graph();
                INDArray ort = runExported(expanded, m.inputs(), Set.of()).get(OnnxExport.LOGITS);
                assertClose(m.expandedLogits(tag), ort, TIMM_TOLERANCE, m.name + " expanded-" + tag + " vs timm");
                assertClose(Features.of(expanded, m.inputs()).logits(), ort, RUNTIME_TOLERANCE, m.name + " expanded-" + tag + " vs library");
            })));
        }
        return tests;
    }

    @Test
    @DisplayName("bundled model: logits, preLogits and forwardFeatures as the library's, at batch 1 and 7 from one file")
    void bundledModelWithEveryOutput() throws Exception {
        VitModel model = Pretrained.VIT_FMNIST_D64_L4.load();
        Path file = dir.resolve("bundled.onnx");
        OnnxExport.write(model, file, ALL_OUTPUTS);
        Onnx.ModelProto proto = checkedStructure(file);
        assertEquals(List.of(OnnxExport.PIXELS), proto.getGraph().getInputList().stream().map(Onnx.ValueInfoProto::getName).toList());
        assertEquals(List.of(OnnxExport.LOGITS, OnnxExport.PRE_LOGITS, OnnxExport.FORWARD_FEATURES),
                proto.getGraph().getOutputList().stream().map(Onnx.ValueInfoProto::getName).toList());
        assertEquals(model.metadata().toString(), proto.getMetadataProps(0).getValue(), "class names and preprocessing ride along");
        try (OnnxRuntimeSession ort = new OnnxRuntimeSession(Files.readAllBytes(file))) {
            for (int batch : new int[] {1, 7}) { // the batch dimension is symbolic: one file serves both
                INDArray pixels = pixels(model.config(), batch, 3);
                Features library = model.features(pixels);
                Map<String, INDArray> out = ort.run(pixels);
                assertClose(library.logits(), out.get(OnnxExport.LOGITS), RUNTIME_TOLERANCE, "logits, batch " + batch);
                assertClose(library.preLogits(), out.get(OnnxExport.PRE_LOGITS), RUNTIME_TOLERANCE, "preLogits, batch " + batch);
                assertClose(library.tokens(), out.get(OnnxExport.FORWARD_FEATURES), RUNTIME_TOLERANCE, "forwardFeatures, batch " + batch);
            }
        }
    }

    /** A grown model and the base it grows from; the grown model's every parameter is then randomised. */
    private record Grown(String name, VitConfig base, ExpansionPlan plan) {}

    @TestFactory
    @DisplayName("grown models with every adjustment, orders and poolings: ONNX Runtime gives the library's outputs")
    List<DynamicTest> grownModels() throws Exception {
        VitConfig micro = Pretrained.VIT_FMNIST_D64_L4.config();
        List<Grown> cases = List.of(
                new Grown("cyclic-8, rank-8 adapters, gates, untied norms, adapter scale 0.5", micro,
                        ExpansionPlan.cyclic(8).withAdapterRank(8).withFunctionPreserving(true).withUntiedNorms(true).withAdapterScale(0.5)),
                new Grown("interleave-8, adapters everywhere", micro,
                        ExpansionPlan.interleave(8).withAdapterRank(4).withAdapterPositions(ExpansionPlan.AdapterPositions.ALL)),
                new Grown("explicit order, untied blocks, adapters and gates", micro,
                        ExpansionPlan.order(0, 1, 1, 2, 3, 3).withAdapterRank(2).withUntiedBlocks(true).withFunctionPreserving(true)),
                new Grown("average pooling with fc_norm, no qkv bias", micro.toBuilder().globalPool(GlobalPool.AVG).fcNorm(true).qkvBias(false).build(),
                        ExpansionPlan.cyclic(6).withAdapterRank(4).withFunctionPreserving(true)),
                new Grown("no class token, average pooling with the final norm", micro.toBuilder().classToken(false).globalPool(GlobalPool.AVG).build(),
                        ExpansionPlan.interleave(6).withAdapterRank(4).withUntiedNorms(true)));
        List<DynamicTest> tests = new ArrayList<>();
        for (Grown c : cases) {
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                ComputationGraph base = VisionTransformer.builder().config(c.base()).seed(5).build().init();
                ComputationGraph grown = ScaleNet.expand(base, c.plan()).graph();
                // gates and adapter up-projections start at zero: random values make every adjustment count
                grown.setParams(Nd4j.rand(DataType.FLOAT, 1, grown.numParams()).subi(0.5).muli(0.2));
                INDArray pixels = pixels(c.base(), 5, 7);
                Features library = Features.of(grown, pixels);
                Map<String, INDArray> out = runExported(grown, pixels, ALL_OUTPUTS);
                assertClose(library.logits(), out.get(OnnxExport.LOGITS), RUNTIME_TOLERANCE, "logits");
                assertClose(library.preLogits(), out.get(OnnxExport.PRE_LOGITS), RUNTIME_TOLERANCE, "preLogits");
                assertClose(library.tokens(), out.get(OnnxExport.FORWARD_FEATURES), RUNTIME_TOLERANCE, "forwardFeatures");
            }));
        }
        return tests;
    }

    @Test
    @DisplayName("sharing survives: cyclic-2x micro with rank-8 adapters is 4 bytes per parameter plus under 5 KB of graph per position")
    void sharedBlocksAreStoredOnce() throws Exception {
        VitModel base = Pretrained.VIT_FMNIST_D64_L4.load();
        ComputationGraph grown = ScaleNet.expand(base.graph(), ExpansionPlan.cyclic(8).withAdapterRank(8)).graph();
        Path file = dir.resolve("cyclic-8.onnx");
        OnnxExport.write(base.withGraph(grown), file, Set.of());
        checkedStructure(file);
        long parameterBytes = 4 * grown.numParams(); // the graph's parameter array holds a shared block once
        long graphBytes = Files.size(file) - parameterBytes;
        long oneBlockBytes = 4 * VisionTransformer.blocksOf(grown).blockShape().blockTensors().values().stream()
                .mapToLong(s -> java.util.Arrays.stream(s).reduce(1, Math::multiplyExact)).sum();
        System.out.printf("cyclic-8 micro, rank-8 adapters: %d parameters, file %d bytes = 4 x parameters + %d bytes of graph "
                + "(one block's tensors: %d bytes)%n", grown.numParams(), Files.size(file), graphBytes, oneBlockBytes);
        // the graph: about 45 nodes per position with their value names and attributes (3.6 KB), and the metadata JSON
        int positions = VisionTransformer.blocksOf(grown).depth();
        assertTrue(graphBytes > 0 && graphBytes < 5_000L * positions, "graph bytes " + graphBytes);
        assertTrue(graphBytes < oneBlockBytes / 2, "less than half of one copied block: no shared block is stored twice");
    }

    @Test
    @DisplayName("a graph with a layer the exporter does not know is refused, naming the vertex")
    void refusesUnknownLayers() {
        ComputationGraphConfiguration foreign = new NeuralNetConfiguration.Builder().graphBuilder().addInputs("in")
                .addLayer("dense", new DenseLayer.Builder().nIn(4).nOut(3).build(), "in")
                .addLayer("out", new OutputLayer.Builder().nIn(3).nOut(2).build(), "dense").setOutputs("out").build();
        ComputationGraph graph = new ComputationGraph(foreign);
        graph.init();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> OnnxExport.model(graph, Set.of(), null));
        assertTrue(e.getMessage().contains("DenseLayer"), e.getMessage());

        ComputationGraphConfiguration vit = VisionTransformer.builder().config(Pretrained.VIT_FMNIST_D64_L4.config()).build().conf();
        ((OutputLayer) ((LayerVertex) vit.getVertices().get(VisionTransformer.HEAD)).getLayerConf().getLayer())
                .setActivationFn(new ActivationSigmoid());
        ComputationGraph sigmoidHead = new ComputationGraph(vit);
        sigmoidHead.init();
        UnsupportedLayerException head = assertThrows(UnsupportedLayerException.class, () -> OnnxExport.model(sigmoidHead, Set.of(), null));
        assertEquals(VisionTransformer.HEAD, head.vertex(), head.getMessage());
    }

    /** Exports {@code graph}, checks the file's structure, runs it in ONNX Runtime on {@code pixels}. */
    private Map<String, INDArray> runExported(ComputationGraph graph, INDArray pixels, Set<Features.Kind> extra) throws Exception {
        Path file = Files.createTempFile(dir, "model", ".onnx");
        Files.write(file, OnnxExport.model(graph, extra, null).toByteArray());
        checkedStructure(file);
        try (OnnxRuntimeSession ort = new OnnxRuntimeSession(Files.readAllBytes(file))) {
            return ort.run(pixels);
        }
    }

    /** The file parsed back, after the Java structural check and, where installed, ONNX's checker. */
    static Onnx.ModelProto checkedStructure(Path file) throws Exception {
        Onnx.ModelProto proto = Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        assertEquals(List.of(), OnnxStructure.problems(proto), file + ": structural problems");
        if (OnnxStructure.onnxCheckerAvailable()) {
            assertEquals("", OnnxStructure.onnxChecker(file), file + ": onnx.checker");
            System.out.println(file.getFileName() + ": onnx.checker.check_model(full_check=True) passed");
        } else {
            System.out.println(file.getFileName() + ": no python3-onnx here, Java structural check only");
        }
        return proto;
    }

    private static INDArray pixels(VitConfig c, int batch, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, batch, c.inChans(), c.imgSize(), c.imgSize());
    }

    static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double err = expected.castTo(DataType.FLOAT).sub(actual).amaxNumber().doubleValue();
        double scale = expected.amaxNumber().doubleValue();
        System.out.printf("%s: max abs error %.3g (values up to %.3g)%n", what, err, scale);
        assertTrue(err <= tolerance, what + ": max abs error " + err + " exceeds " + tolerance + " (values up to " + scale + ")");
    }
}

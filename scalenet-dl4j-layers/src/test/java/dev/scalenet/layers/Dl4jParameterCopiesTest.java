package dev.scalenet.layers;

import dev.scalenet.RawBits;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.vit.TimmFixtures;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitModel;
import org.deeplearning4j.earlystopping.saver.InMemoryModelSaver;
import org.deeplearning4j.earlystopping.saver.LocalFileGraphSaver;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every DL4J path that copies parameters (through {@code Layer.setParams}, {@code setParamTable} or the flat vector)
 * keeps this project's layers' parameters bit for bit. The model is grown with every adjustment that owns tensors
 * (adapters everywhere, gates, untied norms) and all its parameters are random, so a transposed or shuffled copy of
 * any tensor shows.
 */
class Dl4jParameterCopiesTest {
    private static final TimmFixtures.Model MICRO = TimmFixtures.models().stream()
            .filter(m -> m.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();
    private static final List<String> BODY = List.of(VisionTransformer.PATCH_EMBED, VisionTransformer.BLOCKS, VisionTransformer.POOL);
    private static ComputationGraph grown;
    private static INDArray pixels;

    @BeforeAll
    static void growRandomModel() throws Exception {
        ComputationGraph base = VitModel.load(MICRO.weights(), MICRO.constructorJson()).graph();
        grown = ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(4)
                .withAdapterPositions(ExpansionPlan.AdapterPositions.ALL).withFunctionPreserving(true).withUntiedNorms(true)).graph();
        Nd4j.getRandom().setSeed(5);
        // random everywhere: zero gates and zero adapter outputs would hide a scrambled inserted block
        grown.setParams(Nd4j.rand(DataType.FLOAT, 1, grown.numParams()).subi(0.5).muli(0.4));
        pixels = MICRO.inputs();
    }

    private static INDArray features(ComputationGraph g) {
        return g.feedForward(pixels, false).get(VisionTransformer.POOL).dup();
    }

    private static void assertSameBody(ComputationGraph expected, ComputationGraph actual, String path) {
        for (String name : BODY) {
            assertArrayEquals(RawBits.of(expected.getLayer(name).params()), RawBits.of(actual.getLayer(name).params()),
                    path + ": parameters of " + name + " bit-identical");
        }
        assertArrayEquals(RawBits.of(features(expected)), RawBits.of(features(actual)), path + ": features below the head bit-identical");
    }

    @Test
    @DisplayName("Layer.setParams(layer.params()) is a no-op for every layer of the grown model")
    void setParamsIsTheInverseOfParams() {
        ComputationGraph copy = grown.clone();
        for (String name : BODY) {
            Layer layer = copy.getLayer(name);
            int[] before = RawBits.of(layer.params());
            layer.setParams(layer.params().dup());
            assertArrayEquals(before, RawBits.of(layer.params()), name);
        }
        assertSameBody(grown, copy, "setParams");
    }

    @Test
    @DisplayName("setParams with a vector of the wrong length fails naming the layer and the expected length")
    void setParamsOfWrongLengthIsRefused() {
        Layer blocks = grown.clone().getLayer(VisionTransformer.BLOCKS);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> blocks.setParams(Nd4j.zeros(DataType.FLOAT, 1, blocks.numParams() - 1)));
        assertTrue(e.getMessage().contains(VisionTransformer.BLOCKS) && e.getMessage().contains("expected " + blocks.numParams()), e.getMessage());
    }

    @Test
    @DisplayName("TransferLearning: a feature extractor with a replaced head keeps the body's parameters and features")
    void transferLearningKeepsTheBody() {
        ComputationGraph tl = new TransferLearning.GraphBuilder(grown).setFeatureExtractor(VisionTransformer.POOL)
                .nOutReplace(VisionTransformer.HEAD, 5, WeightInit.XAVIER).build();
        assertSameBody(grown, tl, "TransferLearning");
        assertEquals(5, tl.outputSingle(pixels).size(1), "the new head's classes");
    }

    @Test
    @DisplayName("clone() and setParamTable keep every parameter")
    void cloneAndParamTable() {
        assertSameBody(grown, grown.clone(), "clone");
        ComputationGraph target = grown.clone();
        target.setParams(Nd4j.zeros(DataType.FLOAT, 1, grown.numParams()));
        for (String name : BODY) {
            Map<String, INDArray> table = grown.getLayer(name).paramTable();
            target.getLayer(name).setParamTable(table);
        }
        assertSameBody(grown, target, "setParamTable");
    }

    @Test
    @DisplayName("early stopping's in-memory and file savers hand back the same parameters")
    void earlyStoppingSavers(@TempDir Path dir) throws Exception {
        InMemoryModelSaver<ComputationGraph> memory = new InMemoryModelSaver<>();
        memory.saveBestModel(grown, 0.5);
        assertSameBody(grown, memory.getBestModel(), "InMemoryModelSaver");
        LocalFileGraphSaver file = new LocalFileGraphSaver(dir.toString());
        file.saveBestModel(grown, 0.5);
        assertSameBody(grown, file.getBestModel(), "LocalFileGraphSaver");
    }

    @Test
    @DisplayName("ModelSerializer round trips, with and without the updater, keep the parameters")
    void modelSerializer(@TempDir Path dir) throws Exception {
        for (boolean updater : new boolean[] {true, false}) {
            File f = dir.resolve("m" + updater + ".zip").toFile();
            ModelSerializer.writeModel(grown, f, updater);
            assertSameBody(grown, ModelSerializer.restoreComputationGraph(f, updater), "ModelSerializer, updater " + updater);
        }
    }

    @Test
    @DisplayName("averaging: a replica given the graph's flat parameters (as parameter averaging does) computes the same")
    void averagedParametersCopyIntoReplicas() {
        ComputationGraph replica = grown.clone();
        replica.setParams(Nd4j.zeros(DataType.FLOAT, 1, grown.numParams()));
        // parameter averaging assigns the mean of the replicas' params() back; the mean of two equal copies is the copy
        INDArray averaged = grown.params().add(grown.params()).divi(2);
        replica.setParams(averaged);
        for (String name : BODY) replica.getLayer(name).setParams(grown.getLayer(name).params().dup());
        assertSameBody(grown, replica, "averaging");
    }
}

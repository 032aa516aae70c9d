package dev.scalenet.vit;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our ViT reproduces timm's logits, and a ScaleNet expansion with zero-initialised adapters reproduces the
 * deeper timm model whose blocks copy the base blocks. One test case per fixture model and per expansion.
 *
 * <p>Tolerance: 1e-4 max absolute error on logits. Both sides compute in float32, with different summation
 * orders (OpenBLAS vs PyTorch GEMMs, different LayerNorm reductions); such differences are ~1e-6 here, while
 * every known porting mistake (LayerNorm eps, approximate GELU, transposed weights, head splits) costs
 * ≥ 1.2e-4 on these vectors (see the fixture README).
 */
class TimmParityTest {
    static final double MAX_ABS_ERROR = 1e-4;

    @TestFactory
    List<DynamicTest> reproducesTimmLogits() {
        List<DynamicTest> tests = new ArrayList<>();
        for (TimmFixtures.Model m : TimmFixtures.models()) {
            tests.add(DynamicTest.dynamicTest(m.name, () -> {
                ComputationGraph graph = TimmCheckpoint.load(m.weights(), m.constructorJson());
                assertClose(m.logits(), Features.logits(graph, m.inputs()), m.name);
            }));
            m.expansions().forEach((tag, order) -> tests.add(DynamicTest.dynamicTest(m.name + " expanded-" + tag, () -> {
                ComputationGraph base = TimmCheckpoint.load(m.weights(), m.constructorJson());
                ComputationGraph expanded = ScaleNet.expand(base, ExpansionPlan.order(order).withAdapterRank(4)).graph();
                assertClose(m.expandedLogits(tag), Features.logits(expanded, m.inputs()), m.name + " expanded-" + tag);
            })));
        }
        return tests;
    }

    static void assertClose(INDArray expected, INDArray actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": logits shape");
        double maxAbs = Transforms.abs(expected.sub(actual)).maxNumber().doubleValue();
        double rel = expected.sub(actual).norm2Number().doubleValue() / expected.norm2Number().doubleValue();
        assertTrue(maxAbs <= MAX_ABS_ERROR, () -> what + ": max |timm - ours| = " + maxAbs + " (relative L2 " + rel
                + ") exceeds " + MAX_ABS_ERROR + "\n timm: " + Arrays.toString(expected.getRow(0).toFloatVector())
                + "\n ours: " + Arrays.toString(actual.getRow(0).toFloatVector()));
        System.out.printf("%s: max abs error %.3g, relative L2 %.3g%n", what, maxAbs, rel);
    }
}

package dev.scalenet.engine;

import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The layers narrow the GEMM thread count for small work only, and only while their own call runs. OpenBLAS's count
 * is read as the layers set it ({@link ComputeThreads#blasThreads}): ND4J's getter caches the value its own setter was
 * last given, and the layers call OpenBLAS's setter directly.
 */
class ComputeThreadsTest {
    @Test
    void onTheCpuBackendTheLayersCallOpenblasDirectlyAndGemmsGiveTheSameBits() {
        assumeTrue(Nd4j.getEnvironment().isCPU(), "the CPU backend's BLAS is OpenBLAS");
        assertTrue(ComputeThreads.setsOpenblasDirectly(), "openblas_set_num_threads was not found: ND4J's 0.3 ms setter is in use");
        org.nd4j.linalg.api.ndarray.INDArray a = Nd4j.rand(DataType.FLOAT, 300, 200);
        org.nd4j.linalg.api.ndarray.INDArray b = Nd4j.rand(DataType.FLOAT, 200, 300);
        org.nd4j.linalg.api.ndarray.INDArray wide = Nd4j.gemm(a, b, false, false);
        org.nd4j.linalg.api.ndarray.INDArray narrow;
        try (ComputeThreads ignored = ComputeThreads.forElements(1_000)) {
            narrow = Nd4j.gemm(a, b, false, false);
        }
        assertArrayEquals(wide.data().asInt(), narrow.data().asInt(), "a GEMM on one thread differs from one on all");
    }

    @Test
    void smallWorkRunsGemmsOnTheCallingThreadAndRestoresTheSettingAfterwards() {
        int before = Nd4j.factory().blas().getMaxThreads();
        assumeTrue(before > 1, "needs a BLAS with more than one thread to observe the narrowing");
        try (ComputeThreads ignored = ComputeThreads.forElements(1_000)) {
            assertEquals(1, ComputeThreads.blasThreads());
        }
        assertEquals(before, ComputeThreads.blasThreads());
    }

    @Test
    void overlappingCallsOnTwoThreadsKeepGemmsSerialUntilTheLastEndsThenRestore() throws Exception {
        int before = Nd4j.factory().blas().getMaxThreads();
        assumeTrue(before > 1, "needs a BLAS with more than one thread to observe the narrowing");
        java.util.concurrent.CountDownLatch otherInside = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch firstClosed = new java.util.concurrent.CountDownLatch(1);
        int[] seenByOther = new int[1];
        ComputeThreads first = ComputeThreads.forElements(1_000);
        Thread other = new Thread(() -> {
            try (ComputeThreads ignored = ComputeThreads.forElements(1_000)) {
                otherInside.countDown();
                firstClosed.await();
                seenByOther[0] = ComputeThreads.blasThreads();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        other.start();
        otherInside.await();
        first.close(); // the other call is still running: its GEMMs must stay on one thread
        firstClosed.countDown();
        other.join();
        assertEquals(1, seenByOther[0], "narrowed while any call is inside");
        assertEquals(before, ComputeThreads.blasThreads(), "restored when the last call ends");
    }

    @Test
    void largeWorkKeepsEveryThread() {
        int before = Nd4j.factory().blas().getMaxThreads();
        try (ComputeThreads ignored = ComputeThreads.forElements(1L << 23)) {
            assertEquals(before, ComputeThreads.blasThreads());
        }
    }

    @Test
    void givingAThreadItsOpenMpTeamChangesNoThreadSettingAndLeavesNoWorkspaceOpen() {
        int omp = Nd4j.getEnvironment().maxThreads();
        int blas = ComputeThreads.blasThreads();
        ComputeThreads.startOpenMpTeam();
        assertEquals(omp, Nd4j.getEnvironment().maxThreads());
        assertEquals(blas, ComputeThreads.blasThreads());
        assertEquals(null, Nd4j.getMemoryManager().getCurrentWorkspace(), "left a workspace open");
    }

    @Test
    void aTrainingStepLeavesTheCallersThreadSettingsAsTheyWere() {
        int blas = Nd4j.factory().blas().getMaxThreads();
        assumeTrue(blas > 1, "needs a BLAS with more than one thread, which the small layers narrow to one");
        VitConfig c = VitConfig.builder().imgSize(16).patchSize(8).inChans(1).numClasses(3).embedDim(8).depth(2)
                .numHeads(2).mlpRatio(2).build();
        ComputationGraph g = VisionTransformer.builder().config(c).seed(1).build().init();
        g.setInputs(Nd4j.rand(DataType.FLOAT, 2, 1, 16, 16));
        g.setLabels(Nd4j.createFromArray(new float[][] {{1, 0, 0}, {0, 1, 0}}));
        g.computeGradientAndScore();
        g.output(Nd4j.rand(DataType.FLOAT, 2, 1, 16, 16));
        assertEquals(blas, ComputeThreads.blasThreads());
        assertEquals(blas, Nd4j.factory().blas().getMaxThreads());
    }
}

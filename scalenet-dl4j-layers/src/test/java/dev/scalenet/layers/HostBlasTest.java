package dev.scalenet.layers;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Products called into OpenBLAS directly are ND4J's products, bit for bit: both end in the same cblas_sgemm. */
class HostBlasTest {
    @Test
    @DisplayName("on the CPU backend with JavaCPP's OpenBLAS (the tests' classpath) products go to OpenBLAS directly")
    void directOnTheCpuBackend() {
        assertTrue(HostBlas.direct());
    }

    @Test
    @DisplayName("a weight view at an offset in a flat parameter array times a matrix: ND4J's bits, into a view's rows too")
    void sameBitsAsNd4j() {
        Nd4j.getRandom().setSeed(1);
        INDArray flat = Nd4j.randn(DataType.FLOAT, 1, 1000);
        INDArray w = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(37, 37 + 24 * 13)).reshape('c', 24, 13);
        INDArray x = Nd4j.randn(DataType.FLOAT, 13, 101);
        INDArray expected = Nd4j.gemm(w, x, false, false);
        INDArray into = Nd4j.zeros(DataType.FLOAT, 30, 101);
        INDArray rows = into.get(NDArrayIndex.interval(3, 27), NDArrayIndex.all());
        HostBlas.product(w, x, rows);
        assertArrayEquals(expected.data().asInt(), rows.dup().data().asInt());
        assertArrayEquals(new float[101 * 3], into.get(NDArrayIndex.interval(0, 3), NDArrayIndex.all()).dup().data().asFloat(),
                "rows outside the view changed");
    }

    @Test
    @DisplayName("operands that do not fit are refused, naming the shapes")
    void refusesMismatchedShapes() {
        INDArray a = Nd4j.zeros(DataType.FLOAT, 4, 5);
        assertThrows(IllegalArgumentException.class, () -> HostBlas.product(a, Nd4j.zeros(DataType.FLOAT, 6, 3), Nd4j.zeros(DataType.FLOAT, 4, 3)));
    }

    @Test
    @DisplayName("a transposed (not c-order) operand takes ND4J's GEMM and still gives the product")
    void fallsBackForOtherLayouts() {
        Nd4j.getRandom().setSeed(2);
        INDArray a = Nd4j.randn(DataType.FLOAT, 7, 4).transpose(); // [4, 7], f order
        INDArray b = Nd4j.randn(DataType.FLOAT, 7, 5);
        INDArray c = Nd4j.zeros(DataType.FLOAT, 4, 5);
        HostBlas.product(a, b, c);
        assertArrayEquals(Nd4j.gemm(a.dup('c'), b, false, false).data().asFloat(), c.data().asFloat(), 1e-5f);
    }
}

package dev.scalenet.engine;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Products called into OpenBLAS directly are ND4J's products, bit for bit: both end in the same cblas_sgemm. */
class HostBlasTest {
    @Test
    @DisplayName("on the CPU backend with JavaCPP's OpenBLAS (the tests' classpath) products go to OpenBLAS directly")
    void directOnTheCpuBackend() {
        assertTrue(HostBlas.found(), "OpenBLAS's cblas_sgemm was not found: the CPU engine would not run");
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
    @DisplayName("every combination of transposes, new results and accumulating into a gradient (alpha 1, beta 1): ND4J's bits")
    void transposesAndAccumulation() {
        Nd4j.getRandom().setSeed(3);
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                INDArray a = transA ? Nd4j.randn(DataType.FLOAT, 9, 17) : Nd4j.randn(DataType.FLOAT, 17, 9);
                INDArray b = transB ? Nd4j.randn(DataType.FLOAT, 23, 9) : Nd4j.randn(DataType.FLOAT, 9, 23);
                String what = "transA " + transA + ", transB " + transB;
                assertArrayEquals(Nd4j.gemm(a, b, transA, transB).data().asInt(), HostBlas.times(a, b, transA, transB).data().asInt(), what);
                INDArray start = Nd4j.randn(DataType.FLOAT, 17, 23);
                INDArray expected = start.dup();
                INDArray actual = start.dup();
                Nd4j.gemm(a, b, expected, transA, transB, 1.0, 1.0);
                HostBlas.gemm(a, b, actual, transA, transB, 1.0, 1.0);
                assertArrayEquals(expected.data().asInt(), actual.data().asInt(), what + ", accumulating");
            }
        }
    }

    @Test
    @DisplayName("double precision takes ND4J's GEMM (the gradient checks' path)")
    void doubleTakesNd4j() {
        INDArray a = Nd4j.randn(DataType.DOUBLE, 3, 4);
        INDArray b = Nd4j.randn(DataType.DOUBLE, 4, 5);
        INDArray c = HostBlas.times(a, b, false, false);
        assertTrue(c.dataType() == DataType.DOUBLE);
        assertArrayEquals(Nd4j.gemm(a, b, false, false).data().asDouble(), c.data().asDouble(), 0.0);
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

    @Test
    @DisplayName("a product of sub-matrices (a head's columns inside a wider matrix) gives ND4J's product of the copied sub-matrices")
    void subMatricesWithRowStrides() {
        Nd4j.getRandom().setSeed(2);
        INDArray qkv = Nd4j.randn(DataType.FLOAT, 7, 12); // 7 rows; a "head" is columns 4..8
        INDArray q = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4)).dup('c');
        INDArray k = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(4, 8)).dup('c');
        INDArray out = Nd4j.zeros(DataType.FLOAT, 2, 7, 7);
        HostBlas.gemm(false, true, 7, 7, 4, 0.5f, qkv, 0, 12, qkv, 4, 12, 0f, out, 49, 7);
        INDArray expected = Nd4j.gemm(q, k, false, true).muli(0.5);
        INDArray got = out.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all());
        double diff = expected.sub(got).amaxNumber().doubleValue();
        assertTrue(diff < 1e-6, "differs by " + diff);
        assertEquals(0.0, out.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all()).amaxNumber().doubleValue(),
                "wrote outside its sub-matrix");
        assertThrows(IllegalArgumentException.class, () -> HostBlas.gemm(false, true, 7, 7, 4, 1f, qkv, 9, 12, qkv, 4, 12, 0f, out, 49, 7),
                "a sub-matrix past the end of its array");
    }
}

package dev.scalenet.engine;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU engine's data movement and element-wise kernels, each against its formula or layout; the engine as a whole is
 * compared with the reference in {@code EngineParityTest}.
 */
class HostKernelsTest {
    @Test
    @DisplayName("reading a row-range view, a transposed view and writing back keep every element where it belongs")
    void readsViewsAndWrites() {
        INDArray m = Nd4j.arange(0, 24).castTo(DataType.FLOAT).reshape('c', 6, 4);
        INDArray rows = m.get(NDArrayIndex.interval(2, 5), NDArrayIndex.all()); // offset 8, contiguous
        try (Work.Frame work = Work.frame()) {
            assertArrayEquals(rows.dup().data().asFloat(), java.util.Arrays.copyOf(HostFloats.read(rows, work), 12));
            INDArray transposed = m.transpose(); // not contiguous in c order: read as its c-order copy
            assertArrayEquals(transposed.dup('c').data().asFloat(), java.util.Arrays.copyOf(HostFloats.read(transposed, work), 24));
            INDArray back = HostFloats.write(HostFloats.read(rows, work), 3, 4);
            assertEquals(rows, back);
            assertThrows(IllegalArgumentException.class, () -> HostFloats.read(Nd4j.zeros(DataType.DOUBLE, 2), work));
        }
    }

    @Test
    @DisplayName("reading one run every so many floats takes each example's first token, from a view at an offset too")
    void readsRuns() {
        INDArray x = Nd4j.arange(0, 48).castTo(DataType.FLOAT).reshape('c', 4, 3, 4); // 4 examples, 3 tokens of 4
        assertArrayEquals(new float[] {0, 1, 2, 3, 12, 13, 14, 15, 24, 25, 26, 27, 36, 37, 38, 39},
                HostFloats.readRuns(x, 12, 4, new float[16]));
        INDArray last = x.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all(), NDArrayIndex.all());
        assertArrayEquals(new float[] {24, 25, 26, 27, 36, 37, 38, 39}, HostFloats.readRuns(last, 12, 4, new float[8]));
    }

    @Test
    @DisplayName("adding into a gradient view changes exactly that view's elements, contiguous or not; a wrong length is refused")
    void addsIntoViews() {
        INDArray flat = Nd4j.arange(0, 12).castTo(DataType.FLOAT).reshape('c', 1, 12);
        INDArray view = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(4, 7)); // offset 4, contiguous
        HostFloats.addInto(view, new float[] {100, 200, 300});
        assertArrayEquals(new float[] {0, 1, 2, 3, 104, 205, 306, 7, 8, 9, 10, 11}, flat.data().asFloat());
        INDArray m = Nd4j.zeros(DataType.FLOAT, 2, 3);
        HostFloats.addInto(m.transpose(), new float[] {1, 2, 3, 4, 5, 6}); // [3, 2] in c order: (0,0) (0,1) (1,0) ...
        assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, m.data().asFloat());
        assertThrows(IllegalArgumentException.class, () -> HostFloats.addInto(view, new float[2]));
    }

    @Test
    @DisplayName("GELU and the residual branch end, taken a chunk of rows at a time, give the per-element formula's bits over several chunks and a partial last one")
    void elementWiseKernelsMatchTheirFormulaAcrossChunks() {
        int width = 24;
        int rows = 3 * HostMath.rowsPerChunk(width) + 5;
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        float[][] v = new float[3][rows * width];
        for (float[] a : v) for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        float[][] p = new float[3][width];
        for (float[] a : p) for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        float[] keep = new float[rows];
        for (int r = 0; r < rows; r++) keep[r] = r % 3 == 0 ? 0f : 1.25f;
        float s = 0.7f;

        float[] gelu = new float[rows * width];
        HostGelu.forward(FloatBuffer.wrap(v[0]), p[0], rows, FloatBuffer.wrap(gelu));
        float[] y = new float[rows * width];
        float[] out = new float[rows * width];
        HostResidual.forward(FloatBuffer.wrap(v[0]), FloatBuffer.wrap(v[1]), p[0], FloatBuffer.wrap(v[2]), p[1], s, p[2], keep, rows,
                width, FloatBuffer.wrap(y), FloatBuffer.wrap(out));
        for (int i = 0; i < rows * width; i++) {
            int c = i % width;
            float g = v[0][i] + p[0][c];
            assertEquals(Float.floatToRawIntBits(0.5f * g * (1f + HostMath.erf(g * (float) Math.sqrt(0.5)))), Float.floatToRawIntBits(gelu[i]), "gelu " + i);
            float ungated = (v[1][i] + p[0][c]) + (v[2][i] + p[1][c]) * s;
            assertEquals(Float.floatToRawIntBits(ungated), Float.floatToRawIntBits(y[i]), "ungated branch " + i);
            assertEquals(Float.floatToRawIntBits(ungated * p[2][c] * keep[i / width] + v[0][i]), Float.floatToRawIntBits(out[i]), "sum " + i);
        }
    }

    @Test
    @DisplayName("work frames hand a nested frame arrays of its own, and the same arrays again after it closes")
    void workFramesNest() {
        try (Work.Frame outer = Work.frame()) {
            float[] a = outer.floats(8);
            float[] inner;
            try (Work.Frame nested = Work.frame()) {
                inner = nested.floats(4);
                assertTrue(inner != a, "a nested frame got its caller's array");
            }
            try (Work.Frame again = Work.frame()) {
                assertSame(inner, again.floats(4));
                assertTrue(again.floats(100).length >= 100);
            }
        }
    }
}

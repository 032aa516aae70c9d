package dev.scalenet.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    @DisplayName("of() records name, shape, element count and F32 as the source dtype")
    void ofDescribesTheTensor() {
        float[] values = {1, 2, 3, 4, 5, 6};
        Tensor t = Tensor.of("w", new long[] {2, 3}, values);
        assertEquals("w", t.name());
        assertArrayEquals(new long[] {2, 3}, t.shape());
        assertEquals(6, t.numel());
        assertEquals(DType.F32, t.sourceDType());
        assertSame(values, t.values(), "values() is the backing array, not a copy");
    }

    @Test
    @DisplayName("shape() is a defensive copy, in and out")
    void shapeIsCopied() {
        long[] shape = {2, 2};
        Tensor t = Tensor.of("w", shape, new float[4]);
        shape[0] = 7;
        t.shape()[1] = 9;
        assertArrayEquals(new long[] {2, 2}, t.shape());
    }

    @Test
    @DisplayName("a scalar has shape [] and one element")
    void scalar() {
        assertEquals(1, Tensor.of("s", new long[0], new float[] {3}).numel());
    }

    @Test
    @DisplayName("a shape that does not match the number of values is rejected, naming the tensor and both counts")
    void shapeMustMatchValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.of("blocks.0.mlp.fc1.weight", new long[] {2, 3}, new float[5]));
        assertTrue(e.getMessage().contains("'blocks.0.mlp.fc1.weight'"), e.getMessage());
        assertTrue(e.getMessage().contains("6 elements") && e.getMessage().contains("5 values"), e.getMessage());
    }

    @Test
    @DisplayName("a negative dimension is rejected, naming the tensor")
    void negativeDimension() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.of("bias", new long[] {-1}, new float[0]));
        assertTrue(e.getMessage().contains("'bias'") && e.getMessage().contains("[-1]"), e.getMessage());
    }
}

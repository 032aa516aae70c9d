package dev.scalenet.io;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DTypeTest {

    @Test
    @DisplayName("sizes and safetensors names are F32/4, F16/2, BF16/2")
    void sizesAndNames() {
        assertAll(
                () -> assertEquals(4, DType.F32.bytesPerElement()),
                () -> assertEquals(2, DType.F16.bytesPerElement()),
                () -> assertEquals(2, DType.BF16.bytesPerElement()),
                () -> assertEquals("F32", DType.F32.safetensorsName()),
                () -> assertEquals("F16", DType.F16.safetensorsName()),
                () -> assertEquals("BF16", DType.BF16.safetensorsName()));
    }

    @Test
    @DisplayName("every one of the 65536 half patterns survives half -> float -> half (NaN stays NaN)")
    void halfRoundTripIsExhaustivelyExact() {
        for (int bits = 0; bits <= 0xffff; bits++) {
            float f = DType.halfToFloat((short) bits);
            int back = DType.floatToHalf(f) & 0xffff;
            if (isHalfNaN(bits)) {
                assertTrue(Float.isNaN(f) && isHalfNaN(back) && (back & 0x8000) == (bits & 0x8000),
                        "NaN 0x" + Integer.toHexString(bits));
            } else if (back != bits) {
                fail("half 0x" + Integer.toHexString(bits) + " -> " + f + " -> 0x" + Integer.toHexString(back));
            }
        }
    }

    @Test
    @DisplayName("every one of the 65536 bfloat16 patterns survives bf16 -> float -> bf16 (NaN stays NaN)")
    void bf16RoundTripIsExhaustivelyExact() {
        for (int bits = 0; bits <= 0xffff; bits++) {
            float f = DType.bf16ToFloat((short) bits);
            int back = DType.floatToBf16(f) & 0xffff;
            if (isBf16NaN(bits)) {
                assertTrue(Float.isNaN(f) && isBf16NaN(back) && (back & 0x8000) == (bits & 0x8000),
                        "NaN 0x" + Integer.toHexString(bits));
            } else if (back != bits) {
                fail("bf16 0x" + Integer.toHexString(bits) + " -> " + f + " -> 0x" + Integer.toHexString(back));
            }
        }
    }

    @Test
    @DisplayName("half bit patterns decode to their IEEE values: 1, -2, 65504, 2^-24, 2^-14, -0, inf")
    void halfKnownValues() {
        assertAll(
                () -> assertEquals(1.0f, DType.halfToFloat((short) 0x3C00)),
                () -> assertEquals(-2.0f, DType.halfToFloat((short) 0xC000)),
                () -> assertEquals(65504.0f, DType.halfToFloat((short) 0x7BFF)),
                () -> assertEquals(0x1p-24f, DType.halfToFloat((short) 0x0001)),
                () -> assertEquals(1023 * 0x1p-24f, DType.halfToFloat((short) 0x03FF)),
                () -> assertEquals(0x1p-14f, DType.halfToFloat((short) 0x0400)),
                () -> assertEquals(Float.floatToRawIntBits(-0.0f),
                        Float.floatToRawIntBits(DType.halfToFloat((short) 0x8000))),
                () -> assertEquals(Float.POSITIVE_INFINITY, DType.halfToFloat((short) 0x7C00)),
                () -> assertEquals(Float.NEGATIVE_INFINITY, DType.halfToFloat((short) 0xFC00)),
                () -> assertTrue(Float.isNaN(DType.halfToFloat((short) 0x7E00))));
    }

    @Test
    @DisplayName("float -> half rounds every midpoint between adjacent halves to the even one, and neighbours correctly")
    void halfRoundsToNearestEven() {
        for (int h = 0; h < 0x7BFF; h++) {
            float lo = DType.halfToFloat((short) h);
            float hi = DType.halfToFloat((short) (h + 1));
            float mid = (lo + hi) / 2; // exact: halves need 11 significant bits, floats have 24
            int even = (h & 1) == 0 ? h : h + 1;
            assertHalf(even, mid);
            assertHalf(h, Math.nextDown(mid));
            assertHalf(h + 1, Math.nextUp(mid));
            assertHalf(even | 0x8000, -mid);
        }
    }

    @Test
    @DisplayName("float -> half overflows to infinity from 65520 (the midpoint past 65504) and keeps signed zero")
    void halfOverflowAndZero() {
        assertAll(
                () -> assertHalf(0x7BFF, Math.nextDown(65520f)),
                () -> assertHalf(0x7C00, 65520f),
                () -> assertHalf(0xFC00, -1e9f),
                () -> assertHalf(0x7C00, Float.MAX_VALUE),
                () -> assertHalf(0x0000, 0x1p-25f),
                () -> assertHalf(0x0001, Math.nextUp(0x1p-25f)),
                () -> assertHalf(0x8000, -0.0f),
                () -> assertHalf(0x0000, Float.MIN_VALUE));
    }

    @Test
    @DisplayName("float -> bfloat16 rounds every midpoint between adjacent bfloat16s to the even one")
    void bf16RoundsToNearestEven() {
        for (int b = 0; b < 0x7F7F; b++) {
            float lo = DType.bf16ToFloat((short) b);
            float hi = DType.bf16ToFloat((short) (b + 1));
            float mid = (float) (((double) lo + hi) / 2); // exact: needs 9 significant bits; no overflow
            int even = (b & 1) == 0 ? b : b + 1;
            assertBf16(even, mid);
            assertBf16(b, Math.nextDown(mid));
            assertBf16(b + 1, Math.nextUp(mid));
            assertBf16(even | 0x8000, -mid);
        }
        assertBf16(0x7F80, Float.MAX_VALUE);
        assertBf16(0x3F80, 1.0f);
    }

    private static void assertHalf(int expectedBits, float value) {
        assertEquals(expectedBits, DType.floatToHalf(value) & 0xffff,
                () -> "float " + value + " (0x" + Integer.toHexString(Float.floatToRawIntBits(value)) + ")");
    }

    private static void assertBf16(int expectedBits, float value) {
        assertEquals(expectedBits, DType.floatToBf16(value) & 0xffff,
                () -> "float " + value + " (0x" + Integer.toHexString(Float.floatToRawIntBits(value)) + ")");
    }

    private static boolean isHalfNaN(int bits) {
        return (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0;
    }

    private static boolean isBf16NaN(int bits) {
        return (bits & 0x7f80) == 0x7f80 && (bits & 0x7f) != 0;
    }
}

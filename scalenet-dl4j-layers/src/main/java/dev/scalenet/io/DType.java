package dev.scalenet.io;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/** Floating-point storage types of checkpoint tensors; values are always float32 in memory. */
public enum DType {
    F32(4),
    F16(2),
    BF16(2);

    private final int bytesPerElement;

    DType(int bytesPerElement) {
        this.bytesPerElement = bytesPerElement;
    }

    public int bytesPerElement() {
        return bytesPerElement;
    }

    /** The dtype's name in a safetensors header. */
    public String safetensorsName() {
        return name();
    }

    static Optional<DType> fromSafetensorsName(String name) {
        return Arrays.stream(values()).filter(d -> d.safetensorsName().equals(name)).findFirst();
    }

    static String supportedNames() {
        return Arrays.stream(values()).map(DType::safetensorsName).collect(Collectors.joining(", "));
    }

    /** Decodes {@code count} elements from {@code src} (little-endian) into {@code dst[offset..]}. */
    void decode(ByteBuffer src, float[] dst, int offset, int count) {
        for (int i = offset; i < offset + count; i++) {
            dst[i] = switch (this) {
                case F32 -> src.getFloat();
                case F16 -> halfToFloat(src.getShort());
                case BF16 -> bf16ToFloat(src.getShort());
            };
        }
    }

    /**
     * Encodes {@code src[from..to)} into {@code dst} (little-endian). Returns the index of the first
     * value that is not finite or becomes infinite in this dtype (nothing after it is written), or -1.
     */
    int encode(float[] src, int from, int to, ByteBuffer dst) {
        for (int i = from; i < to; i++) {
            float v = src[i];
            if (!Float.isFinite(v)) {
                return i;
            }
            switch (this) {
                case F32 -> dst.putFloat(v);
                case F16 -> {
                    short h = floatToHalf(v);
                    if ((h & 0x7fff) == 0x7c00) {
                        return i;
                    }
                    dst.putShort(h);
                }
                case BF16 -> {
                    short b = floatToBf16(v);
                    if ((b & 0x7fff) == 0x7f80) {
                        return i;
                    }
                    dst.putShort(b);
                }
            }
        }
        return -1;
    }

    /** IEEE 754 binary16 bits to float; exact for every pattern (NaN payloads are kept). */
    static float halfToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // Zero or subnormal: mantissa * 2^-24 is exact in float.
            return Float.intBitsToFloat(sign | Float.floatToRawIntBits(mantissa * 0x1p-24f));
        }
        // Rebias the exponent from 15 to 127.
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** Float to IEEE 754 binary16 bits, rounding to nearest even; overflow gives infinity. */
    static short floatToHalf(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) {
            if (abs == 0x7f800000) {
                return (short) (sign | 0x7c00);
            }
            // NaN: keep the top payload bits; if they are all zero, set the quiet bit so it stays NaN.
            int payload = (abs >>> 13) & 0x3ff;
            return (short) (sign | 0x7c00 | (payload == 0 ? 0x200 : payload));
        }
        if (abs >= 0x38800000) {
            // Normal in half precision (or overflows): rebias, then round on the 13 dropped bits.
            // A carry out of the mantissa correctly bumps the exponent, up to infinity.
            int rounded = (abs - 0x38000000 + 0xfff + ((abs >>> 13) & 1)) >>> 13;
            return (short) (sign | Math.min(rounded, 0x7c00));
        }
        if (abs <= 0x33000000) {
            // At most 2^-25, half of the smallest subnormal: rounds to (signed) zero.
            return (short) sign;
        }
        // Subnormal in half precision: units of 2^-24.
        int exponent = abs >>> 23;
        int mantissa = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - exponent;
        int result = mantissa >>> shift;
        int remainder = mantissa & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (result & 1) != 0)) {
            result++;
        }
        return (short) (sign | result);
    }

    /** bfloat16 bits to float: the top half of a float, exact. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Float to bfloat16 bits, rounding to nearest even; overflow gives infinity, NaN stays NaN. */
    static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            int top = bits >>> 16;
            return (short) ((top & 0x7f) == 0 ? top | 0x40 : top);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }
}

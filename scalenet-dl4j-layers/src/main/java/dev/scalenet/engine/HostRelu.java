package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * ReLU of a linear layer's output plus its bias, in one Java pass over fp32 rows: the adapters' down-projection, where
 * ND4J takes a bias add and a ReLU, each with its fixed cost, on a {@code [rows, rank]} array of a few floats a row.
 */
final class HostRelu {
    private HostRelu() {}

    /** {@code relu(pre + bias)} for a linear layer's output without its bias, {@code [rows, bias.length]}; bias may be null. */
    static INDArray apply(INDArray pre, INDArray bias) {
        try (Work.Frame work = Work.frame()) {
            float[] out = work.floats(pre.length());
            int width = Math.toIntExact(pre.size(1));
            forward(HostFloats.read(pre, work), HostFloats.copy(bias), Math.toIntExact(pre.size(0)), width, out);
            return HostFloats.write(out, pre.shape());
        }
    }

    /** {@code out = max(pre + bias, 0)} over {@code rows} rows of {@code width} floats. */
    static void forward(float[] pre, float[] bias, int rows, int width, float[] out) {
        for (int r = 0; r < rows; r++) {
            int at = r * width;
            for (int c = 0; c < width; c++) {
                float v = bias == null ? pre[at + c] : pre[at + c] + bias[c];
                out[at + c] = Math.max(v, 0f);
            }
        }
    }
}

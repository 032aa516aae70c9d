package dev.scalenet.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/** An exported model loaded by ONNX Runtime (CPU, 2 intra-op threads, as the benchmarks run), fed and read as ND4J arrays. */
public final class OnnxRuntimeSession implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    public OnnxRuntimeSession(byte[] model) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(2);
            options.setInterOpNumThreads(1);
            session = env.createSession(model, options);
        }
    }

    /** Every output of one run on {@code pixels} {@code [batch, C, H, W]}, by ONNX name. */
    public Map<String, INDArray> run(INDArray pixels) throws OrtException {
        INDArray c = pixels.castTo(DataType.FLOAT).dup('c');
        Map<String, INDArray> out = new LinkedHashMap<>();
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(c.data().asFloat()), c.shape());
             OrtSession.Result r = session.run(Map.of(OnnxExport.PIXELS, in))) {
            for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : r) {
                OnnxTensor t = (OnnxTensor) e.getValue();
                FloatBuffer b = t.getFloatBuffer();
                float[] values = new float[b.remaining()];
                b.get(values);
                out.put(e.getKey(), Nd4j.create(values, t.getInfo().getShape(), 'c'));
            }
        }
        return out;
    }

    /** {@code logits} of one run. */
    public INDArray logits(INDArray pixels) throws OrtException {
        return run(pixels).get(OnnxExport.LOGITS);
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}

package dev.scalenet.train;

import dev.scalenet.io.Fingerprints;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;

/** SHA-256 of a graph's architecture (vertex configurations without training settings) and parameter values. */
public final class ModelFingerprint {
    private ModelFingerprint() {}

    public static String of(ComputationGraph graph) {
        MessageDigest sha = Fingerprints.sha256();
        for (org.deeplearning4j.nn.api.Layer l : graph.getLayers()) {
            sha.update((l.conf().getLayer().getLayerName() + ":" + l.conf().getLayer().getClass().getName() + ":"
                    + l.numParams() + ";").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        float[] values = graph.params().castTo(DataType.FLOAT).data().asFloat();
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        sha.update(bytes.array());
        return Fingerprints.hex(sha.digest());
    }
}

package dev.scalenet.guide;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.onnx.OnnxExport;
import dev.scalenet.vit.Features;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.VitModel;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The page "Deploying a grown model" ({@code site/src/site/markdown/deploying.md}), compiled and run: its Java blocks
 * are the regions between {@code tag::name[]} and {@code end::name[]} ({@link LibraryGuideTest} checks).
 */
class DeployingGuideExamplesTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("deploying: export a grown model as ONNX, serve it with ONNX Runtime's Java API, get the library's label")
    void exportAndServe() throws Exception {
        Path onnxFile = dir.resolve("vit-x8.onnx");
        // tag::export[]
        VitModel base = Pretrained.VIT_FMNIST_D64_L4.load();
        VitModel grown = base.withGraph(ScaleNet.expand(base.graph(), ExpansionPlan.cyclic(8).withAdapterRank(8)).graph());
        OnnxExport.write(grown, onnxFile, Set.of(Features.Kind.PRE_LOGITS)); // logits, and preLogits for a downstream head
        // end::export[]

        INDArray x = Nd4j.randn(DataType.FLOAT, 1, 1, 28, 28); // an image, preprocessed as the model's pretrained_cfg says
        float[] image = x.data().asFloat();
        // tag::serve[]
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        String label;
        try (OrtSession session = env.createSession(onnxFile.toString(), new OrtSession.SessionOptions());
             OnnxTensor pixels = OnnxTensor.createTensor(env, FloatBuffer.wrap(image), new long[] {1, 1, 28, 28});
             OrtSession.Result result = session.run(Map.of("pixels", pixels))) {
            float[] logits = ((float[][]) result.get("logits").get().getValue())[0];
            int best = 0;
            for (int k = 1; k < logits.length; k++) if (logits[k] > logits[best]) best = k;
            // class names and preprocessing travel in the file, as the metadata property "scalenet"
            JsonNode meta = new ObjectMapper().readTree(session.getMetadata().getCustomMetadata().get("scalenet"));
            label = meta.get("label_names").get(best).asText();
        }
        // end::serve[]
        assertEquals(grown.classNames().get(grown.graph().outputSingle(x).argMax(1).getInt(0)), label);
    }
}

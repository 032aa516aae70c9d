package dev.scalenet.vit;

import dev.scalenet.data.DataConfig;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.io.Fingerprints;
import dev.scalenet.job.Evaluation;
import dev.scalenet.train.EvalResult;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import dev.scalenet.InvalidSettingException;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.nd4j.linalg.learning.config.Sgd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pretrained model shipped in the jar is what its model card says it is. */
class PretrainedTest {
    private static final Path CARD = Paths.get("src/main/resources/dev/scalenet/pretrained/MODEL_CARD.md");

    @TempDir
    Path dir;

    @Test
    @DisplayName("vit_fmnist_d64_l4: the card's architecture, preprocessing and labels")
    void loads() throws Exception {
        VitModel m = Pretrained.VIT_FMNIST_D64_L4.load();
        assertEquals(139_018, m.graph().numParams());
        assertEquals(4, m.config().depth());
        assertEquals(DataConfig.fashionMnist(), m.dataConfig());
        assertEquals("Ankle boot", m.classNames().get(9));
        assertEquals(Pretrained.VIT_FMNIST_D64_L4, Pretrained.byId("VIT_FMNIST_D64_L4"));
    }

    @Test
    @DisplayName("vit_fmnist_d64_l4: held-out accuracy on the first 2,000 Fashion-MNIST test images near the card's figure")
    void accuracy() throws Exception {
        EvalResult r = Evaluation.of(Pretrained.VIT_FMNIST_D64_L4.load(), FashionMnist.test(), 250, 2000);
        // the card reports the whole test set; 2,000 images keep the test quick, at about 0.7 points of noise
        assertTrue(r.top1() > 0.86, r.toString());
    }

    @Test
    @DisplayName("the model card states the SHA-256 of the shipped weights")
    void cardMatchesWeights() throws Exception {
        Path weights = Pretrained.VIT_FMNIST_D64_L4.extract(dir);
        String card = Files.readString(CARD);
        assertTrue(card.contains(Fingerprints.file(weights)), "MODEL_CARD.md must state " + Fingerprints.file(weights));
    }

    @Test
    @DisplayName("zoo convention: initPretrained() of the bundled architecture gives the bundled weights in this builder's graph")
    void initPretrained() throws Exception {
        VitModel bundled = Pretrained.VIT_FMNIST_D64_L4.load();
        VisionTransformer zoo = VisionTransformer.builder().config(Pretrained.VIT_FMNIST_D64_L4.config())
                .updater(new Sgd(0.1)).build();
        ComputationGraph graph = zoo.initPretrained();
        assertEquals(bundled.graph().params(), graph.params());
        assertEquals(bundled.graph().params(), ((ComputationGraph) zoo.initPretrained(PretrainedType.MNIST)).params());
        // the builder's own configuration is kept, not the loader's defaults
        assertEquals(new Sgd(0.1), graph.getLayer(VisionTransformer.HEAD).conf().getLayer().getUpdaterByParam("W"));
    }

    @Test
    @DisplayName("pretrainedAvailable tells the truth for every PretrainedType and architecture")
    void pretrainedAvailable() {
        VisionTransformer fmnist = VisionTransformer.builder().config(Pretrained.VIT_FMNIST_D64_L4.config()).build();
        VisionTransformer deitTiny = VisionTransformer.builder().build();
        VisionTransformer expanded = VisionTransformer.builder().config(Pretrained.VIT_FMNIST_D64_L4.config())
                .order(0, 0, 1, 1, 2, 2, 3, 3).adapterRank(4).build();
        for (PretrainedType type : PretrainedType.values()) {
            assertEquals(type == PretrainedType.MNIST, fmnist.pretrainedAvailable(type), type.toString());
            assertFalse(deitTiny.pretrainedAvailable(type), type.toString());
            assertFalse(expanded.pretrainedAvailable(type), type.toString());
        }
    }

    @Test
    @DisplayName("initPretrained without a bundled model fails saying what is bundled and where other weights come from")
    void initPretrainedUnavailable() {
        VisionTransformer deitTiny = VisionTransformer.builder().build();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, deitTiny::initPretrained);
        assertTrue(e.getMessage().contains("IMAGENET") && e.getMessage().contains("vit_fmnist_d64_l4")
                && e.getMessage().contains("VitModel.load"), e.getMessage());
        VisionTransformer fmnist = VisionTransformer.builder().config(Pretrained.VIT_FMNIST_D64_L4.config()).build();
        assertThrows(UnsupportedOperationException.class, () -> fmnist.initPretrained(PretrainedType.CIFAR10));
    }

    @Test
    @DisplayName("by id: Pretrained.load(\"vit_fmnist_d64_l4\"); an unknown id fails listing the ids; the timm files load through VitModel.load")
    void byId() throws Exception {
        VitModel byId = Pretrained.load("vit_fmnist_d64_l4");
        assertEquals(Pretrained.VIT_FMNIST_D64_L4.load().graph().params(), byId.graph().params());
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> Pretrained.load("vit_imagenet"));
        assertTrue(e.getMessage().contains("vit_imagenet") && e.getMessage().contains("vit_fmnist_d64_l4"), e.getMessage());
        VitModel timm = VitModel.load(Pretrained.VIT_FMNIST_D64_L4.extract(dir), null);
        assertEquals(byId.graph().params(), timm.graph().params());
        assertEquals(byId.classNames(), timm.classNames());
    }
}

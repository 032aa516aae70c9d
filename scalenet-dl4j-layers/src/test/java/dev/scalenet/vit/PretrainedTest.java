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

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}

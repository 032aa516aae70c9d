package dev.scalenet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DataConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static JsonNode json(String text) throws IOException {
        return JSON.readTree(text.replace('\'', '"'));
    }

    @Test
    @DisplayName("fashionMnist(): 1x28x28, mean 0.2860, std 0.3530, crop_pct 1, bilinear")
    void fashionMnist() {
        DataConfig c = DataConfig.fashionMnist();
        assertEquals(List.of(1, 28, 28), List.of(c.channels(), c.height(), c.width()));
        assertArrayEquals(new double[] {0.2860}, c.mean());
        assertArrayEquals(new double[] {0.3530}, c.std());
        assertEquals(1.0, c.cropPct());
        assertEquals("bilinear", c.interpolation());
    }

    @Test
    @DisplayName("imagenet(224): 3x224x224, timm's IMAGENET_DEFAULT_MEAN/STD and DEFAULT_CROP_PCT 0.875")
    void imagenet() {
        DataConfig c = DataConfig.imagenet(224);
        assertEquals(List.of(3, 224, 224), List.of(c.channels(), c.height(), c.width()));
        assertArrayEquals(new double[] {0.485, 0.456, 0.406}, c.mean());
        assertArrayEquals(new double[] {0.229, 0.224, 0.225}, c.std());
        assertEquals(0.875, c.cropPct());
    }

    @Test
    @DisplayName("the JSON form has timm's pretrained_cfg keys and values")
    void jsonForm() throws IOException {
        assertEquals(json("{'input_size': [1, 28, 28], 'mean': [0.286], 'std': [0.353], 'crop_pct': 1.0,"
                + " 'interpolation': 'bilinear'}"), DataConfig.fashionMnist().toJson());
        assertEquals(json("{'input_size': [3, 96, 96], 'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225],"
                + " 'crop_pct': 0.875, 'interpolation': 'bilinear'}"), DataConfig.imagenet(96).toJson());
    }

    @Test
    @DisplayName("write then read gives an equal config")
    void roundTrip() throws IOException {
        Path file = dir.resolve("data.json");
        for (DataConfig c : List.of(DataConfig.fashionMnist(), DataConfig.imagenet(224),
                DataConfig.of(3, 32, 48, new double[] {0.1, 0.2, 0.3}, new double[] {1, 2, 3}).withCropPct(0.9))) {
            c.write(file);
            assertEquals(c, DataConfig.read(file));
        }
    }

    @Test
    @DisplayName("a whole timm pretrained_cfg reads, alone or wrapped; its other keys are ignored; crop_pct defaults to 1")
    void timmPretrainedCfg() throws IOException {
        String cfg = "{'url': '', 'hf_hub_id': 'x/y', 'num_classes': 10, 'input_size': [3, 32, 40],"
                + " 'pool_size': null, 'crop_pct': 0.9, 'interpolation': 'bilinear', 'crop_mode': 'center',"
                + " 'fixed_input_size': true, 'mean': [0.5, 0.5, 0.5], 'std': [0.25, 0.5, 1.0],"
                + " 'first_conv': 'patch_embed.proj', 'classifier': 'head'}";
        DataConfig expected = DataConfig.of(3, 32, 40, new double[] {0.5, 0.5, 0.5}, new double[] {0.25, 0.5, 1.0})
                .withCropPct(0.9);
        assertEquals(expected, DataConfig.fromJson(json(cfg)));
        assertEquals(expected, DataConfig.fromJson(json("{'architecture': 'vit', 'pretrained_cfg': " + cfg + "}")));
        DataConfig noCrop = DataConfig.fromJson(json("{'input_size': [1, 8, 8], 'mean': [0], 'std': [1]}"));
        assertEquals(1.0, noCrop.cropPct());
    }

    @ParameterizedTest(name = "{0} fails naming ''{1}''")
    @CsvSource(delimiter = '|', value = {
            "{'mean': [0], 'std': [1]} | input_size | nothing",
            "{'input_size': [1, 28], 'mean': [0], 'std': [1]} | input_size | 3 positive integers",
            "{'input_size': [1, 28.5, 28], 'mean': [0], 'std': [1]} | input_size | 3 positive integers",
            "{'input_size': [0, 28, 28], 'mean': [], 'std': []} | input_size | 3 positive integers",
            "{'input_size': [3, 28, 28], 'mean': [0], 'std': [1, 1, 1]} | mean | one number per channel of input_size (3)",
            "{'input_size': [1, 28, 28], 'mean': ['0'], 'std': [1]} | mean | one number per channel of input_size (1)",
            "{'input_size': [1, 28, 28], 'mean': [0]} | std | nothing",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [0]} | std | positive values from 0.001 to 1000",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1e-300]} | std | positive values from 0.001 to 1000, so that normalised pixels stay finite (within 1000 of 0) and distinct, found [1.0E-300]",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [0.000999]} | std | positive values from 0.001 to 1000",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1e300]} | std | positive values from 0.001 to 1000",
            "{'input_size': [3, 28, 28], 'mean': [0.5, 0.5, 0.5], 'std': [0.5, 1e4, 0.5]} | std | found [0.5, 10000.0, 0.5]",
            "{'input_size': [1, 28, 28], 'mean': [1e39], 'std': [1e39]} | mean | values in [0, 1], means of pixels in [0, 1], found [1.0E39]",
            "{'input_size': [1, 28, 28], 'mean': [-0.01], 'std': [1]} | mean | values in [0, 1]",
            "{'input_size': [1, 28, 28], 'mean': [1.01], 'std': [1]} | mean | values in [0, 1]",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1], 'crop_pct': 0} | crop_pct | (0, 1]",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1], 'crop_pct': 1.5} | crop_pct | (0, 1]",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1], 'crop_pct': '1'} | crop_pct | a number",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1], 'crop_pct': 1e-9} | crop_pct | a fraction whose resize target (input_size / crop_pct, at least 28000000000x28000000000) holds at most 33554432 pixels",
            "{'input_size': [1, 100000, 100000], 'mean': [0], 'std': [1]} | input_size | at most 33554432 pixels (height x width)",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1], 'interpolation': 'bicubic'} | interpolation | the only one implemented",
            "{'input_size': [1, 28, 28], 'mean': [0], 'std': [1], 'crop_mode': 'squash'} | crop_mode | the only one implemented",
    })
    void invalid(String text, String key, String expected) throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataConfig.fromJson(json(text)));
        assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    @DisplayName("a bad file fails naming the file: invalid JSON, or a valid one with a bad key")
    void badFile() throws IOException {
        Path file = Files.writeString(dir.resolve("bad.json"), "{'input_size': [1, 28, 28],");
        IOException e = assertThrows(IOException.class, () -> DataConfig.read(file));
        assertTrue(e.getMessage().startsWith(file.toAbsolutePath() + ": not valid JSON"), e.getMessage());
        Files.writeString(file, "{\"input_size\": [1, 28, 28], \"mean\": [0], \"std\": [-1]}");
        e = assertThrows(IOException.class, () -> DataConfig.read(file));
        assertTrue(e.getMessage().startsWith(file.toAbsolutePath() + ": data config: 'std'"), e.getMessage());
    }

    @Test
    @DisplayName("a data config file reads strictly: a key given twice or a second value is refused, naming the file and the key")
    void strictFile() throws IOException {
        String valid = "{\"input_size\": [1, 28, 28], \"mean\": [0.5], \"std\": [0.5]}";
        Path file = Files.writeString(dir.resolve("data.json"), valid);
        assertEquals(0.5, DataConfig.read(file).mean()[0]);
        Files.writeString(file, "{\"input_size\": [1, 28, 28], \"mean\": [0.5], \"std\": [0.5], \"mean\": [0.1]}");
        IOException dup = assertThrows(IOException.class, () -> DataConfig.read(file));
        assertTrue(dup.getMessage().startsWith(file.toAbsolutePath() + ": not valid JSON: the key 'mean' appears a second time at"
                + " line 1, column "), dup.getMessage());
        Files.writeString(file, valid + " {}");
        IOException trailing = assertThrows(IOException.class, () -> DataConfig.read(file));
        assertEquals(file.toAbsolutePath() + ": not valid JSON: content after the JSON value at line 1, column " + (valid.length() + 2)
                + ": expected one value and nothing after it", trailing.getMessage());
    }

    @ParameterizedTest(name = "mean {0}, std {1}")
    @CsvSource({
            "0.485, 0.229", // timm's IMAGENET_DEFAULT_MEAN/STD, first channel
            "0.5, 0.5", // IMAGENET_INCEPTION_MEAN/STD
            "0.48145466, 0.26862954", // OPENAI_CLIP_MEAN/STD
            "0, 0.00392156862745098", // 1/255: pixels back to 0..255
            "0, 1", "1, 0.001", "0, 1000",
    })
    @DisplayName("the bounds admit timm's normalisations and their own edges, and keep normalised pixels finite, within"
            + " 1000 of 0")
    void normalisationBounds(double mean, double std) {
        DataConfig c = DataConfig.of(1, 1, 2, new double[] {mean}, new double[] {std});
        float[] normalised = ImageOps.normalise(new Image(1, 1, 2, new float[] {0, 1}), c.mean(), c.std()).data();
        for (float v : normalised) {
            assertTrue(Float.isFinite(v) && Math.abs(v) <= 1000, "normalised " + v);
        }
        assertTrue(normalised[1] > normalised[0], "black and white stay apart");
    }

    @Test
    @DisplayName("the factory checks its arguments too, and accessors return copies")
    void factory() {
        assertThrows(IllegalArgumentException.class, () -> DataConfig.of(3, 8, 8, new double[] {0}, new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> DataConfig.fashionMnist().withCropPct(0));
        DataConfig c = DataConfig.fashionMnist();
        c.mean()[0] = 99;
        assertEquals(0.2860, c.mean()[0]);
    }
}

package dev.scalenet.vit;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A configuration's numbers are bounded before anything they size is allocated; errors name the timm argument. */
class VitConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX = VitConfig.MAX_PARAMETERS;

    @TempDir
    Path dir;

    private static String rejected(VitConfig.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }

    @Test
    @DisplayName("parameters are counted as timm counts them: DeiT-Tiny 5717416, DeiT-Small 22050664, DeiT-Base 86567656")
    void countsLikeTimm() {
        assertEquals(5_717_416L, VitConfig.deitTinyPatch16().numParams());
        assertEquals(22_050_664L, VitConfig.deitSmallPatch16().numParams());
        assertEquals(86_567_656L, VitConfig.deitBasePatch16().numParams());
    }

    @Test
    @DisplayName("a head has at least 2 classes: it is a softmax, which over one class is always 1")
    void twoClasses() {
        assertEquals("ViT config: num_classes = 1, expected at least 2 (the head is a softmax over the classes)",
                rejected(VitConfig.builder().numClasses(1)));
    }

    @Test
    @DisplayName("mlp_ratio must be finite: 1e400 in JSON reads as Infinity")
    void finiteMlpRatio() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VitConfig.fromTimmArgs(JSON.readTree("{\"mlp_ratio\": 1e400}"), VitConfig.builder()));
        assertEquals("ViT config: mlp_ratio = Infinity, expected a finite number with int(embed_dim * mlp_ratio) at least 1",
                e.getMessage());
    }

    @Test
    @DisplayName("each tensor holds at most MAX_PARAMETERS values; the error names the argument that sizes it and the tensor")
    void tensorBounds() throws Exception {
        // 2 G classes at width 768 would be a head of 1.5 T values: refused before a graph is built
        IllegalArgumentException head = assertThrows(IllegalArgumentException.class,
                () -> VitModel.create(JSON.readTree("{\"constructor\": {\"num_classes\": 2000000000}}"), 1));
        assertEquals("ViT config: num_classes = 2000000000, expected a value whose head.weight [2000000000, 768] holds at"
                + " most " + MAX + " values", head.getMessage());
        assertEquals("ViT config: embed_dim = 30000, expected a value whose blocks.<j>.attn.qkv.weight [90000, 30000] holds"
                + " at most " + MAX + " values", rejected(VitConfig.builder().embedDim(30000).numHeads(1)));
        assertEquals("ViT config: mlp_ratio = 1000000.0, expected a value whose blocks.<j>.mlp.fc1.weight [768000000, 768]"
                + " holds at most " + MAX + " values", rejected(VitConfig.builder().mlpRatio(1e6)));
        // 65536 patches a side: 2^32 + 1 tokens, which the int token count would wrap round to 1
        assertEquals("ViT config: img_size / patch_size = 65536 / 1, expected a value whose pos_embed [1, 4294967297, 768]"
                + " holds at most " + MAX + " values", rejected(VitConfig.builder().imgSize(65536).patchSize(1)));
        assertEquals("ViT config: in_chans, patch_size = 100000, 16, expected a value whose patch_embed.proj.weight [768,"
                + " 100000, 16, 16] holds at most " + MAX + " values", rejected(VitConfig.builder().inChans(100000)));
    }

    @Test
    @DisplayName("all parameters together are bounded too (a ViT-Base fits 302 blocks, not 303), and depth by the deepest stack")
    void totalBound() {
        assertEquals(2_142_050_536L, VitConfig.deitBasePatch16().withDepth(302).numParams());
        assertEquals("ViT config: parameters = 2149138408 (303 blocks of 7087872 each, 1513192 outside them), expected at"
                + " most " + MAX + " in all", rejected(VitConfig.deitBasePatch16().toBuilder().depth(303)));
        assertEquals("ViT config: depth = 5000, expected 1 to 4096", rejected(VitConfig.builder().embedDim(8).numHeads(1)
                .depth(5000)));
    }

    @Test
    @DisplayName("a timm arguments file reads strictly: a key given twice or a second value is refused, naming the file and the key")
    void strictFile() throws IOException {
        Path file = Files.writeString(dir.resolve("args.json"), "{\"depth\": 4, \"embed_dim\": 32, \"num_heads\": 2}");
        assertEquals(4, VitConfig.fromTimmJson(file).depth());
        Files.writeString(file, "{\"depth\": 4, \"embed_dim\": 32, \"num_heads\": 2, \"depth\": 12}");
        assertEquals(file.toAbsolutePath() + ": not valid JSON: the key 'depth' appears a second time at line 1, column 54:"
                + " expected each key once", assertThrows(IOException.class, () -> VitConfig.fromTimmJson(file)).getMessage());
        Files.writeString(file, "{\"depth\": 4}\n{\"depth\": 12}\n");
        assertEquals(file.toAbsolutePath() + ": not valid JSON: content after the JSON value at line 2, column 1: expected one"
                + " value and nothing after it", assertThrows(IOException.class, () -> VitConfig.fromTimmJson(file)).getMessage());
    }
}

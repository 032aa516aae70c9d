package dev.scalenet.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scalenet.fuzz.FuzzFiles;
import org.junit.jupiter.api.Tag;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Any image file in a class folder given to {@link ImageFolderDataset} either decodes or fails with a
 * {@link DatasetException} naming a file; nothing else escapes (no OutOfMemoryError from an image header
 * claiming huge dimensions). An input is: one byte choosing the file's extension (low 2 bits: png, jpg, bmp,
 * gif) and whether the same bytes also lie loose in the root folder, where only class folders belong (bit 2);
 * the rest is the image file.
 * Without {@code JAZZER_FUZZ} this replays {@code ImageFolderDatasetFuzzTestInputs/open/}.
 */
@Tag("fuzz")
class ImageFolderDatasetFuzzTest {
    private static final String[] EXTENSIONS = {"png", "jpg", "bmp", "gif"};

    @FuzzTest(maxDuration = "3h", maxExecutions = 1_000_000)
    void open(byte[] bytes) throws IOException {
        Path root = FuzzFiles.emptyDir("images");
        int layout = bytes.length == 0 ? 0 : bytes[0];
        Path image = Files.createDirectories(root.resolve("cat")).resolve("0." + EXTENSIONS[layout & 3]);
        Files.write(image, bytes.length == 0 ? bytes : Arrays.copyOfRange(bytes, 1, bytes.length));
        if ((layout & 4) != 0) Files.copy(image, root.resolve("loose." + EXTENSIONS[layout & 3]));
        try {
            ImageFolderDataset data = ImageFolderDataset.open(root);
            for (int i = 0; i < data.size(); i++) {
                data.image(i);
            }
        } catch (DatasetException rejected) {
            FuzzFiles.assertNames(rejected, root);
        }
    }
}

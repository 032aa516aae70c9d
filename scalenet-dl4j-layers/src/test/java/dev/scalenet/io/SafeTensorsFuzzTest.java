package dev.scalenet.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scalenet.fuzz.FuzzFiles;
import org.junit.jupiter.api.Tag;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Any bytes given to {@link SafeTensors#read} either read or fail with a {@link SafeTensorsException} naming the
 * file; nothing else escapes (no OutOfMemoryError from a header claiming a huge tensor, no StackOverflowError
 * from nested JSON). Without {@code JAZZER_FUZZ} this replays {@code SafeTensorsFuzzTestInputs/read/}.
 */
@Tag("fuzz")
class SafeTensorsFuzzTest {

    @FuzzTest(maxDuration = "3h", maxExecutions = 1_000_000)
    void read(byte[] bytes) throws IOException {
        Path file = FuzzFiles.write("input.safetensors", bytes);
        try {
            SafeTensors.read(file);
        } catch (SafeTensorsException rejected) {
            FuzzFiles.assertNames(rejected, file);
        }
    }
}

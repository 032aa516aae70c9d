package dev.scalenet.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scalenet.fuzz.FuzzFiles;
import org.junit.jupiter.api.Tag;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Any bytes given to {@link Npy#read} either read or fail with an {@link NpyFormatException} naming the file;
 * nothing else escapes. Without {@code JAZZER_FUZZ} this replays {@code NpyFuzzTestInputs/read/}.
 */
@Tag("fuzz")
class NpyFuzzTest {

    @FuzzTest(maxDuration = "3h", maxExecutions = 1_000_000)
    void read(byte[] bytes) throws IOException {
        Path file = FuzzFiles.write("input.npy", bytes);
        try {
            Npy.read(file);
        } catch (NpyFormatException rejected) {
            FuzzFiles.assertNames(rejected, file);
        }
    }
}

package dev.scalenet.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scalenet.fuzz.FuzzFiles;
import org.junit.jupiter.api.Tag;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Any pair of files given to {@link IdxDataset#read} (plain or gzip, with or without a {@code classes.txt})
 * either reads, with every image decodable, or fails with a {@link DatasetException} naming a file; nothing
 * else escapes. An input is: 2-byte length, images file; 2-byte length, labels file; the rest, if any, is
 * {@code classes.txt}. Without {@code JAZZER_FUZZ} this replays {@code IdxDatasetFuzzTestInputs/read/}.
 */
@Tag("fuzz")
class IdxDatasetFuzzTest {

    @FuzzTest(maxDuration = "3h", maxExecutions = 1_000_000)
    void read(byte[] bytes) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        Path dir = FuzzFiles.emptyDir("idx");
        Path images = Files.write(dir.resolve("train-images-idx3-ubyte"), FuzzFiles.next(in, FuzzFiles.nextLength(in)));
        Path labels = Files.write(dir.resolve("train-labels-idx1-ubyte"), FuzzFiles.next(in, FuzzFiles.nextLength(in)));
        if (in.hasRemaining()) Files.write(dir.resolve(ClassNames.FILE_NAME), FuzzFiles.next(in, in.remaining()));
        try {
            IdxDataset data = IdxDataset.read(images, labels);
            for (int i = 0; i < data.size(); i++) {
                data.image(i);
                data.label(i);
            }
        } catch (DatasetException rejected) {
            FuzzFiles.assertNames(rejected, dir);
        }
    }
}

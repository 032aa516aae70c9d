package dev.scalenet.io;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("deleteLeftovers removes the temp files a killed write of the target left, and nothing else")
    void leftoversOfAKilledWrite() throws Exception {
        Path target = dir.resolve("checkpoint.zip");
        AtomicFiles.writeString(target, "done");
        Files.writeString(dir.resolve(".checkpoint.zip.tmp-1f2e3d"), "half"); // what SIGKILL before the rename leaves
        Files.writeString(dir.resolve(".other.zip.tmp-1f2e3d"), "another file's");
        Files.writeString(dir.resolve("checkpoint.zip.bak"), "not a temp file");
        AtomicFiles.deleteLeftovers(target);
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(".other.zip.tmp-1f2e3d", "checkpoint.zip", "checkpoint.zip.bak"),
                    left.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals("done", Files.readString(target));
        AtomicFiles.deleteLeftovers(dir.resolve("missing/checkpoint.zip")); // no folder: nothing to do
    }
}

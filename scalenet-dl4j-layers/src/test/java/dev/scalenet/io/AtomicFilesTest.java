package dev.scalenet.io;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

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

    @Test
    @DisplayName("writeFolder puts the folder its body filled in place, and leaves nothing else beside it")
    void writeFolderWhole() throws Exception {
        Path target = dir.resolve("split");
        AtomicFiles.writeFolder(target, folder -> {
            assertNotEquals(target, folder, "the body fills a folder beside the target, not the target");
            assertFalse(Files.exists(target), "the target appears only when the body is done");
            Files.writeString(Files.createDirectories(folder.resolve("sub")).resolve("a.txt"), "a");
        });
        assertEquals("a", Files.readString(target.resolve("sub/a.txt")));
        assertEquals(List.of("split"), names(dir));
    }

    @Test
    @DisplayName("writeFolder leaves no folder, whole or partial, when the body fails, and rethrows its failure")
    void writeFolderFailing() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> AtomicFiles.writeFolder(dir.resolve("split"), folder -> {
            Files.writeString(folder.resolve("a.txt"), "half");
            throw new IllegalStateException("body failed");
        }));
        assertEquals("body failed", e.getMessage());
        assertEquals(List.of(), names(dir));
    }

    @Test
    @DisplayName("writeFolder refuses an existing folder before the body runs and leaves its files as they were")
    void writeFolderRefusesExisting() throws Exception {
        Path target = Files.createDirectories(dir.resolve("split"));
        Files.writeString(target.resolve("mine.txt"), "keep");
        assertThrows(FileAlreadyExistsException.class,
                () -> AtomicFiles.writeFolder(target, folder -> fail("the body must not run")));
        assertEquals(List.of("mine.txt"), names(target));
        assertEquals(List.of("split"), names(dir));
    }

    @Test
    @DisplayName("deleteLeftovers removes a killed writeFolder's hidden folder with everything in it")
    void leftoverFolder() throws Exception {
        Path leftover = Files.createDirectories(dir.resolve(".split.tmp-1f2e3d/sub"));
        Files.writeString(leftover.resolve("a.txt"), "half");
        AtomicFiles.deleteLeftovers(dir.resolve("split"));
        assertEquals(List.of(), names(dir));
    }

    private static List<String> names(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

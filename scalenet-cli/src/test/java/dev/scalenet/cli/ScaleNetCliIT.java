package dev.scalenet.cli;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packaged {@code scalenet} jar as a user runs it: {@code java -jar}, in its own process, from a folder outside
 * the repository, reading what it prints and its exit code.
 */
class ScaleNetCliIT {
    @TempDir
    Path elsewhere;

    private record Run(int code, String out, String err) {
    }

    private Run scalenet(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", Path.of(System.getProperty("scalenet.cli.jar")).toAbsolutePath().toString()));
        command.addAll(List.of(args));
        Path out = elsewhere.resolve("stdout.txt");
        Path err = elsewhere.resolve("stderr.txt");
        Process p = new ProcessBuilder(command).directory(elsewhere.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "scalenet " + String.join(" ", args) + " finished within 2 minutes");
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("expand outside the repository, with the default --data missing: exit 2, naming the option, the folder and where relative paths start")
    void expandWithoutData() throws Exception {
        Run r = scalenet("expand", "--out", "out");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("Invalid value for option '--data': data/fashion-mnist: expected a dataset folder"), r.err());
        assertTrue(r.err().contains("relative paths start at " + elsewhere.toAbsolutePath()), r.err());
        assertFalse(Files.exists(elsewhere.resolve("out/base")), "nothing extracted or written before the check");
    }

    @Test
    @DisplayName("expand -V and --version print the library's version")
    void version() throws Exception {
        for (String flag : new String[] {"-V", "--version"}) {
            Run r = scalenet("expand", flag);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().matches("scalenet \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R"), r.out());
        }
    }

    @Test
    @DisplayName("a bad strategy points to --order, which expand takes")
    void strategyPointsToOrder() throws Exception {
        Run r = scalenet("expand", "--strategy", "zigzag", "--data", "none", "--out", "out");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("zigzag") && r.err().contains("order"), r.err());
        assertTrue(scalenet("expand", "--help").out().contains("--order=<indices>"));
    }
}

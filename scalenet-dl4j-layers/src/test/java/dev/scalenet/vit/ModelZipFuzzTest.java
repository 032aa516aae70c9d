package dev.scalenet.vit;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.scalenet.fuzz.FuzzFiles;
import org.junit.jupiter.api.Tag;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Any model zip given to {@link VitModel#load} either loads or fails with a {@link ModelZipException} naming the
 * file; nothing else escapes. Mutating compressed bytes mostly breaks checksums, so an input describes the zip's
 * entries and this target deflates them: repeated (1 byte: entry name, picked from {@link #NAMES}; 2 bytes: length;
 * the entry's bytes). An input starting with a zip's local header ({@code PK\3\4}) is instead the zip file itself, to
 * fuzz the container. (Files without that header are read as safetensors, which {@code SafeTensorsFuzzTest} fuzzes.)
 * Without {@code JAZZER_FUZZ} this replays {@code ModelZipFuzzTestInputs/load/}.
 */
@Tag("fuzz")
class ModelZipFuzzTest {
    static final List<String> NAMES = List.of(ModelZip.CONFIGURATION, ModelZip.COEFFICIENTS, ModelZip.METADATA,
            ModelZip.LEGACY_METADATA, "updaterState.bin", "preprocessor.bin");

    // an input that gets as far as building a graph costs milliseconds: 1,000,000 of them take about 45 minutes
    @FuzzTest(maxDuration = "3h", maxExecutions = 1_000_000)
    void load(byte[] bytes) throws IOException {
        byte[] zip = startsWithLocalHeader(bytes) ? bytes : zip(bytes);
        if (!startsWithLocalHeader(zip)) return; // no entries: an empty zip, which load reads as safetensors
        Path file = FuzzFiles.write("input.zip", zip);
        try {
            VitModel.load(file, null);
        } catch (ModelZipException rejected) {
            FuzzFiles.assertNames(rejected, file);
        }
    }

    private static boolean startsWithLocalHeader(byte[] b) {
        return b.length >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
    }

    /** The zip an input describes (see the class comment). */
    static byte[] zip(byte[] input) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(input);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            List<String> written = new ArrayList<>();
            while (in.hasRemaining()) {
                String name = NAMES.get((in.get() & 0xff) % NAMES.size());
                byte[] content = FuzzFiles.next(in, FuzzFiles.nextLength(in));
                if (written.contains(name)) continue; // ZipOutputStream refuses duplicates
                written.add(name);
                zip.putNextEntry(new ZipEntry(name));
                zip.write(content);
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** The input that describes {@code entries} (name, content pairs), for writing seeds. */
    static byte[] describe(List<String> names, List<byte[]> contents) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < names.size(); i++) {
            out.write(NAMES.indexOf(names.get(i)));
            out.write(contents.get(i).length >>> 8);
            out.write(contents.get(i).length);
            out.writeBytes(contents.get(i));
        }
        return out.toByteArray();
    }
}

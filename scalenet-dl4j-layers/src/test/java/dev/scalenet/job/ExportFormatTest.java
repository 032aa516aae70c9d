package dev.scalenet.job;

import dev.scalenet.InvalidSettingException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code format} setting and the output file it implies. */
class ExportFormatTest {
    @Test
    @DisplayName("format: safetensors or onnx in any case; anything else is an invalid 'format' naming both")
    void parse() {
        assertEquals(ExportFormat.SAFETENSORS, ExportFormat.parse("safetensors"));
        assertEquals(ExportFormat.ONNX, ExportFormat.parse("ONNX"));
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> ExportFormat.parse("torchscript"));
        assertEquals("format", e.setting());
        assertEquals("safetensors or onnx", e.expected());
    }

    @Test
    @DisplayName("output: kept with the format's extension, given it without one, refused with another")
    void outputFile() {
        assertEquals(Path.of("out/m.onnx"), ExportFormat.ONNX.file(Path.of("out/m.onnx")));
        assertEquals(Path.of("out/m.onnx"), ExportFormat.ONNX.file(Path.of("out/m")));
        assertEquals(Path.of("out/m.safetensors"), ExportFormat.SAFETENSORS.file(Path.of("out/m")));
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> ExportFormat.ONNX.file(Path.of("m.safetensors")));
        assertEquals("output", e.setting());
        assertTrue(e.expected().contains(".onnx"), e.expected());
    }
}

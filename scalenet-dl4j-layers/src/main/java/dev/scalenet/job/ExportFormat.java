package dev.scalenet.job;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.onnx.OnnxExport;
import dev.scalenet.vit.VitModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/** The forms a model leaves the JVM in: the {@code format} setting of the plugin's and the command line's {@code export}. */
public enum ExportFormat {
    /** timm's state dict and its JSON beside it ({@link VitModel#exportTimm}): for PyTorch users. The default. */
    SAFETENSORS(".safetensors"),
    /** An ONNX model ({@link OnnxExport}): for ONNX Runtime, TensorRT, OpenVINO, DJL, browsers. */
    ONNX(".onnx");

    private final String extension;

    ExportFormat(String extension) {
        this.extension = extension;
    }

    /** {@code safetensors} or {@code onnx}, any case. */
    public static ExportFormat parse(String value) {
        for (ExportFormat f : values()) {
            if (f.name().equalsIgnoreCase(String.valueOf(value).trim())) return f;
        }
        throw new InvalidSettingException("format", value, "safetensors or onnx");
    }

    /** The file name ending of this format, with its dot. */
    public String extension() {
        return extension;
    }

    /**
     * The file to write for the {@code output} setting: as given when it ends in this format's extension, with the
     * extension added when its name has none; another extension is refused (a {@code .safetensors} name for ONNX
     * bytes would mislead every reader).
     */
    public Path file(Path output) {
        String name = output.getFileName().toString();
        if (name.endsWith(extension)) return output;
        InvalidSettingException.require(!name.contains("."), "output", output, "a file name ending in " + extension
                + " for format " + this + (this == SAFETENSORS ? " (the JSON goes beside it)" : "") + ", or a name without extension");
        return output.resolveSibling(name + extension);
    }

    /** Writes {@code model} to {@code file} in this format; returns the files written. */
    public java.util.List<Path> write(VitModel model, Path file) throws IOException {
        if (this == ONNX) {
            OnnxExport.write(model, file, Set.of());
            return java.util.List.of(file);
        }
        model.exportTimm(file);
        return java.util.List.of(file, VitModel.sibling(file, ".json"));
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}

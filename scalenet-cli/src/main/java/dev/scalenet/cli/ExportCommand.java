package dev.scalenet.cli;

import dev.scalenet.job.ExportFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.concurrent.Callable;

/** A model in timm's form or as ONNX ({@link ExportFormat}). */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes a model as a timm state dict (.safetensors) with its JSON (constructor, pretrained_cfg, label_names) beside it,",
                "or as an ONNX model (--format onnx) for ONNX Runtime and other servers.",
                "A base model's .safetensors loads in timm's VisionTransformer. A grown model's adapters (blocks.N.adapter.*) are",
                "keys timm's class does not define, so timm's strict load_state_dict refuses that file; this library and ONNX read it."})
final class ExportCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--format", paramLabel = "<format>", defaultValue = "safetensors",
            description = "safetensors (timm's state dict and its JSON) or onnx (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--output", paramLabel = "<file>", required = true,
            description = "a .safetensors file (the JSON goes beside it) or an .onnx file, by format; a name without extension gets the format's")
    Path output;

    @Override
    public Integer call() throws Exception {
        ExportFormat f = ExportFormat.parse(format);
        Path file = f.file(output);
        List<Path> written = f.write(model.load(), file);
        System.out.println("exported " + model.model.getFileName() + " to "
                + written.stream().map(Path::toString).collect(Collectors.joining(" and ")));
        return 0;
    }
}

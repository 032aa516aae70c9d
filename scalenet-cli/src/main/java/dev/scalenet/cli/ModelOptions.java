package dev.scalenet.cli;

import dev.scalenet.vit.VitModel;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The model a command reads: {@code --model} and, for a .safetensors, {@code --config}. A picocli mixin. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "<file>", required = true, description = "a model zip or timm .safetensors")
    Path model;

    @Option(names = "--config", paramLabel = "<json>", description = "its JSON, for a .safetensors (default: beside it)")
    Path config;

    VitModel load() throws IOException {
        return VitModel.load(model, config);
    }
}

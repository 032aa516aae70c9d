package dev.scalenet.cli;

import dev.scalenet.vit.VitModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** A model in timm's form. */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes a model as a timm state dict (.safetensors) with its JSON (constructor, pretrained_cfg, label_names) beside it.",
                "A base model loads in timm's VisionTransformer. A grown model's adapters (blocks.N.adapter.*) are keys timm's class",
                "does not define, so timm's strict load_state_dict refuses that file; this library reads it back."})
final class ExportCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--output", paramLabel = "<file>", required = true, description = "a .safetensors file; the JSON goes beside it")
    Path output;

    @Override
    public Integer call() throws Exception {
        dev.scalenet.InvalidSettingException.require(output.getFileName().toString().endsWith(".safetensors"), "output",
                output, "a file name ending in .safetensors (the JSON goes beside it)");
        model.load().exportTimm(output);
        System.out.println("exported " + model.model.getFileName() + " to " + output + " and " + VitModel.sibling(output, ".json"));
        return 0;
    }
}

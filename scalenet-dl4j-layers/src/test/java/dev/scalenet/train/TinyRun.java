package dev.scalenet.train;

import dev.scalenet.data.DataConfig;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tiny ViT and a short recipe on the bundled Fashion-MNIST, small enough for tests to train in seconds; also a
 * main class, so a test can run (and kill) the same training in another JVM.
 */
public final class TinyRun {
    static final VitConfig CONFIG = VitConfig.builder().imgSize(28).patchSize(7).inChans(1).numClasses(10)
            .embedDim(16).depth(2).numHeads(2).mlpRatio(2).build();

    private TinyRun() {}

    static ComputationGraph model() {
        return VisionTransformer.builder().config(CONFIG).seed(3).build().init();
    }

    static ComputationGraph expanded() {
        return ScaleNet.expand(model(), ExpansionPlan.cyclic(4).withAdapterRank(2)).graph();
    }

    /** 640 training images in batches of 32: 20 steps an epoch. */
    static TrainConfig.Builder recipe() {
        // everything trains: these runs start from scratch, where the default (adjustments only) would freeze the blocks
        return TrainConfig.builder().trainable(Trainable.ALL).epochs(2).batchSize(32).trainLimit(640).evalLimit(200)
                .learningRate(5e-3).warmupEpochs(0.5).seed(7).checkpointEvery(5);
    }

    static TrainResult fit(ComputationGraph graph, TrainConfig recipe, Path runDir, boolean resume) throws Exception {
        return new Trainer(recipe, DataConfig.fashionMnist(), runDir, "tiny").withResume(resume)
                .fit(graph, FashionMnist.train(), FashionMnist.test());
    }

    /**
     * Starts {@link #main} in another JVM with {@code args}, SIGKILLs it as soon as its first checkpoint exists in
     * {@code runDir} (the first argument), and returns the step that checkpoint holds. The child's output goes to
     * {@code log}; it is quoted in the failure when no checkpoint appears within two minutes.
     */
    static long killAfterFirstCheckpoint(Path log, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), TinyRun.class.getName()));
        command.addAll(List.of(args));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path checkpoint = Path.of(args[0]).resolve(Trainer.CHECKPOINT);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(checkpoint) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
        child.destroyForcibly().waitFor();
        assertTrue(Files.exists(checkpoint),
                "the child wrote a checkpoint before it was killed; log:\n" + Files.readString(log));
        return TrainingCheckpoint.load(checkpoint, model().numParams()).step();
    }

    /** {@code TinyRun <runDir> <epochs> [workers]}: trains {@link #model()} with {@link #recipe()}, resuming if it can. */
    public static void main(String[] args) throws Exception {
        fit(model(), recipe().epochs(Integer.parseInt(args[1])).workers(args.length > 2 ? Integer.parseInt(args[2]) : 1).build(),
                Path.of(args[0]), true);
    }
}

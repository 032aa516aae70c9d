package dev.scalenet.train;

import dev.scalenet.data.DataConfig;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

class InPlaceGraphUpdaterTest {
    @TempDir
    Path dir;

    private ComputationGraph prepared() {
        TrainConfig recipe = TinyRun.recipe().weightDecay(0.05).clipGradNorm(0).build();
        return new Trainer(recipe, DataConfig.fashionMnist(), dir, "updater").prepare(TinyRun.expanded(), 20);
    }

    @Test
    @DisplayName("prepare installs it; the graph's gradient reaches DL4J's updater as the updater's own array, a foreign one unchanged")
    void handsTheUpdaterItsOwnArray() {
        ComputationGraph graph = prepared();
        InPlaceGraphUpdater updater = assertInstanceOf(InPlaceGraphUpdater.class, graph.getUpdater());
        graph.setInputs(Nd4j.rand(DataType.FLOAT, 4, 1, 28, 28));
        graph.setLabels(Nd4j.eye(10).getRows(0, 1, 2, 3));
        graph.computeGradientAndScore();

        // DL4J's test for its in-place path is this identity; the graph's own gradient fails it
        assertNotSame(updater.getFlattenedGradientsView(), graph.gradient().gradient());
        assertSame(updater.getFlattenedGradientsView(), updater.ownArray(graph.gradient()).gradient());
        Gradient foreign = new DefaultGradient(graph.getFlattenedGradients().dup());
        assertSame(foreign, updater.ownArray(foreign));
    }

    @Test
    @DisplayName("ten steps of graph.fit with weight decay leave bit-identical parameters and optimizer state to DL4J's own updater")
    void bitIdenticalToDl4jsUpdater() {
        ComputationGraph inPlace = prepared();
        ComputationGraph stock = prepared();
        stock.setUpdater(new ComputationGraphUpdater(stock));
        Random rnd = new Random(5);
        for (int step = 0; step < 10; step++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 8, 1, 28, 28);
            INDArray y = Nd4j.zeros(DataType.FLOAT, 8, 10);
            for (int i = 0; i < 8; i++) y.putScalar(i, rnd.nextInt(10), 1.0);
            DataSet batch = new DataSet(x, y);
            inPlace.fit(batch);
            stock.fit(batch);
        }
        assertArrayEquals(bits(stock.params()), bits(inPlace.params()), "parameters");
        assertArrayEquals(bits(stock.getUpdater().getStateViewArray()), bits(inPlace.getUpdater().getStateViewArray()),
                "Adam's moments");
    }

    private static int[] bits(INDArray a) {
        float[] f = a.dup().data().asFloat();
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) b[i] = Float.floatToRawIntBits(f[i]);
        return b;
    }
}

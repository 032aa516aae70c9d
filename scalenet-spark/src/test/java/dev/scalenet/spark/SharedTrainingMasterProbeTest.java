package dev.scalenet.spark;

import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataSetIterator;
import dev.scalenet.data.Split;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.VitModel;
import io.aeron.exceptions.ConfigurationException;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.AdaptiveThresholdAlgorithm;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What DL4J's other training master, {@code SharedTrainingMaster} (gradient sharing, dl4j-spark-parameterserver
 * 1.0.0-M2 over Aeron), does on this stack: the record behind the "Scaling out" page, not a path the module ships.
 */
class SharedTrainingMasterProbeTest {
    /** Above the 30 s client liveness timeout nd4j's Aeron transport sets (Aeron's default is 15 s). */
    private static final String UNBLOCK_TIMEOUT = "aeron.publication.unblock.timeout";

    @TempDir
    Path dir;

    @Test
    @DisplayName("as published its first fit fails in Aeron's configuration check; with a longer unblock timeout it"
            + " trains the grown bundled model in local[2]")
    void sharedTrainingMaster() throws Exception {
        VitModel model = SparkEngineTest.grown();
        ComputationGraph g = model.graph();
        TrainConfig recipe = TrainConfig.builder().epochs(1).batchSize(32).trainLimit(512).learningRate(3e-4).warmupEpochs(0).build();
        new Trainer(recipe, model.dataConfig(), dir, "shared").prepare(g, 8);
        List<DataSet> batches = new ArrayList<>();
        ImageDataSetIterator it = recipe.trainingBatches(Datasets.open(SparkEngineTest.DATA, Split.TRAIN), model.dataConfig()).iterator();
        while (it.hasNext()) batches.add(it.next());
        it.close();
        INDArray start = g.params().dup();
        long params = g.numParams();

        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("scalenet-shared-probe")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"))) {
            JavaRDD<DataSet> rdd = sc.parallelize(batches, 2);
            ConfigurationException e = assertThrows(ConfigurationException.class,
                    () -> new SparkComputationGraph(sc, g, master(40123)).fit(rdd));
            assertTrue(e.getMessage().contains("publicationUnblockTimeoutNs=15000000000 <= clientLivenessTimeoutNs=30000000000"),
                    e.getMessage());

            System.setProperty(UNBLOCK_TIMEOUT, "60000000000");
            try {
                long t0 = System.nanoTime();
                ComputationGraph trained = new SparkComputationGraph(sc, g, master(40124)).fit(rdd);
                System.out.printf("SharedTrainingMaster, local[2]: %d batches of 32 in %.1f s%n", batches.size(), (System.nanoTime() - t0) / 1e9);
                assertEquals(params, trained.numParams(), "shared tensors stay one copy");
                assertNotEquals(start, trained.params(), "the shared updates reached the weights");
            } finally {
                System.clearProperty(UNBLOCK_TIMEOUT);
            }
        }
    }

    private static SharedTrainingMaster master(int port) {
        VoidConfiguration transport = VoidConfiguration.builder().unicastPort(port).controllerAddress("127.0.0.1")
                .networkMask("127.0.0.0/8").build();
        return new SharedTrainingMaster.Builder(transport, 32).batchSizePerWorker(32).workersPerNode(1)
                .thresholdAlgorithm(new AdaptiveThresholdAlgorithm(1e-3)).build();
    }
}

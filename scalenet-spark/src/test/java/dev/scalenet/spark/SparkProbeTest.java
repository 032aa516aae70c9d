package dev.scalenet.spark;

import dev.scalenet.data.DataConfig;
import dev.scalenet.data.IdxDataset;
import dev.scalenet.data.ImageDataSetIterator;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * dl4j-spark_2.12 1.0.0-M2 (the last published) against this project's DL4J 1.0.0-M2.1 core, on Spark 3.5 and Java 17:
 * a grown tiny ViT (custom layers, shared tensors, adapters) fine-tuned for a few batches through
 * {@link ParameterAveragingTrainingMaster} in Spark local[2]. The configuration reaches the workers as JSON and the
 * parameters are averaged back into one model.
 */
class SparkProbeTest {
    @TempDir
    Path dir;

    @Test
    void parameterAveragingInLocalMode() throws Exception {
        Path data = Path.of("../data/fashion-mnist").toAbsolutePath().normalize();
        IdxDataset train = IdxDataset.read(data.resolve("train-images-idx3-ubyte.gz"), data.resolve("train-labels-idx1-ubyte.gz"));
        VitConfig config = VitConfig.builder().imgSize(28).patchSize(7).inChans(1).numClasses(10)
                .embedDim(16).depth(2).numHeads(2).mlpRatio(2).build();
        ComputationGraph base = VisionTransformer.builder().config(config).seed(3).build().init();
        ComputationGraph graph = ScaleNet.expand(base, ExpansionPlan.cyclic(4).withAdapterRank(2)).graph();
        TrainConfig recipe = TrainConfig.builder().epochs(1).batchSize(32).trainLimit(256).learningRate(5e-3).warmupEpochs(0).build();
        ImageDataSetIterator batches = recipe.trainingBatches(train, DataConfig.fashionMnist()).iterator();
        new Trainer(recipe, DataConfig.fashionMnist(), dir, false, "spark").prepare(graph, 8);
        List<DataSet> list = new ArrayList<>();
        while (batches.hasNext()) list.add(batches.next());
        batches.close();
        INDArray start = graph.params().dup();
        long params = graph.numParams();

        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("scalenet-spark-probe")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            JavaRDD<DataSet> rdd = sc.parallelize(list, 2);
            ParameterAveragingTrainingMaster master = new ParameterAveragingTrainingMaster.Builder(32)
                    .batchSizePerWorker(32).averagingFrequency(2).workerPrefetchNumBatches(0).build();
            SparkComputationGraph spark = new SparkComputationGraph(sc, graph, master);
            long t0 = System.nanoTime();
            ComputationGraph trained = spark.fit(rdd);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(params, trained.numParams(), "shared tensors stay one copy");
            assertNotEquals(start, trained.params(), "the averaged parameters came back");
            assertTrue(Double.isFinite(spark.getScore()), "score " + spark.getScore());
            System.out.printf("spark local[2]: %d images in %.1f s (%.0f img/s, with Spark's start-up of the job), score %.4f%n",
                    list.size() * 32, seconds, list.size() * 32 / seconds, spark.getScore());
        }
    }
}

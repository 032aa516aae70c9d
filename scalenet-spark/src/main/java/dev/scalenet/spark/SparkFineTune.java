package dev.scalenet.spark;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.job.ExpandJob;
import dev.scalenet.job.Report;
import dev.scalenet.train.ParallelEngine;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.Pretrained;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The {@code spark-submit} entry point: grows a base ViT and fine-tunes it on a Spark cluster with the project's recipe
 * ({@link SparkEngine}), writing on the driver exactly what {@code scalenet expand} and {@code mvn scalenet:expand}
 * write ({@link ExpandJob}): {@code <name>.zip}, {@code report.json}, {@code report.html}, {@code model.properties} and
 * the run folder with its checkpoint, from which an interrupted job resumes.
 *
 * <pre>{@code
 * spark-submit --class dev.scalenet.spark.SparkFineTune scalenet-spark-<version>-spark.jar \
 *     --data /shared/fashion-mnist --out /shared/out --depth 8 --epochs 3
 * }</pre>
 * {@code --help} lists the options; see the site's "Scaling out" page for the Spark settings.
 */
public final class SparkFineTune {
    private SparkFineTune() {}

    public static void main(String[] args) throws Exception {
        int code = run(args, System.out, System.err);
        if (code != 0) System.exit(code);
    }

    /**
     * Runs the job with the Spark settings of this JVM ({@code spark-submit} sets them; {@code spark.master} must be
     * set); returns 0, or 2 after printing what is wrong with the arguments.
     */
    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            out.println("Usage: spark-submit --class " + SparkFineTune.class.getName() + " <jar> --data <dir> --out <dir> [option value]...");
            out.print(SparkArguments.usage());
            return 0;
        }
        SparkArguments a;
        try {
            a = SparkArguments.parse(args);
            a.recipe(2); // every recipe check but Spark's parallelism, before Spark starts
        } catch (InvalidSettingException e) {
            err.println("scalenet-spark: " + e.getMessage());
            return 2;
        }
        SparkConf conf = new SparkConf();
        if (!conf.contains("spark.master")) {
            err.println("scalenet-spark: no Spark master: submit with spark-submit --master <url>, or set -Dspark.master=local[2]");
            return 2;
        }
        if (!conf.contains("spark.app.name")) conf.setAppName("scalenet-spark");
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            long t0 = System.nanoTime();
            ExpandJob job;
            Report report;
            try { // a setting the job refuses (untiedBlocks without trainable all, a bad name, ...) as any other bad argument
                TrainConfig recipe = a.recipe(sc.defaultParallelism());
                ParallelEngine.Factory engine = a.shipData ? SparkEngine.shipping(sc, a.data) : SparkEngine.on(sc, a.data);
                job = job(a, recipe).parallelEngine(engine).build();
                report = job.run();
            } catch (InvalidSettingException e) {
                err.println("scalenet-spark: " + e.getMessage());
                return 2;
            }
            report.summary().forEach(out::println);
            out.printf(Locale.ROOT, "wrote       %s%n            %s (+ report.json, model.properties)%n",
                    job.modelFile().toAbsolutePath(), a.out.resolve(Report.HTML_FILE).toAbsolutePath());
            out.printf(Locale.ROOT, "total       %.0f s%n", (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }

    /**
     * The job of {@code a} with {@code recipe} and no engine (ParallelWrapper's): what {@code scalenet expand} would
     * run with these arguments, named as it names it.
     */
    static ExpandJob.Builder job(SparkArguments a, TrainConfig recipe) throws java.io.IOException {
        Path base = a.model != null ? a.model : Pretrained.VIT_FMNIST_D64_L4.extract(a.out.resolve("base"));
        return ExpandJob.builder().baseModel(base).baseModelJson(a.config).plan(a.plan).recipe(recipe)
                .trainData(a.data).evalData(a.evalData).outputDir(a.out).name(a.name).onnx(a.onnx)
                .resume(a.resume).toolVersion("scalenet-spark " + dev.scalenet.Version.library());
    }
}

package dev.scalenet.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.job.Report;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jar to submit on a Spark standalone cluster of separate JVMs on 127.0.0.1 (a master and two one-core workers,
 * {@link LoopbackCluster}), through {@code SparkSubmit}: the grown bundled model fine-tuned in 4 rounds of 2 tasks, against
 * {@code local[2]} and ParallelWrapper; then a worker killed in a round, and a driver killed between checkpoints.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterIT {
    private static final Path JAR = Path.of(System.getProperty("scalenet.spark.jar", "target/scalenet-spark-spark.jar"));
    private static final Path SPARK_HOME = Path.of(System.getProperty("scalenet.spark.home", "target/spark-home"));
    private static final Path DIR = Path.of("target/standalone-cluster-it").toAbsolutePath();
    /** A whole submit on a loaded 2-core machine: JVM starts, ND4J on three JVMs, 4 to 6 rounds, 3 evaluations. */
    private static final Duration JOB = Duration.ofMinutes(20);
    private static final String NAME = "vit_fmnist_d64_l4-cyclic-8";

    /** The fine-tune: the bundled model grown to 8 blocks, 256 images in batches of 32 on 2 tasks (4 rounds). */
    private static final List<String> ARGS = List.of("--data", SparkEngineTest.DATA.toString(), "--depth", "8", "--rank", "8",
            "--epochs", "1", "--batchSize", "32", "--trainLimit", "256", "--evalLimit", "100", "--warmupEpochs", "0.5",
            "--learningRate", "1e-3", "--workers", "2");

    private static LoopbackCluster cluster;
    private static Path reference;
    private static String referenceLog;

    @BeforeAll
    static void startCluster() throws Exception {
        deleteTree(DIR);
        cluster = LoopbackCluster.start(SPARK_HOME, DIR, 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    /** spark-submit of the jar on the cluster: one executor a worker, 1 core and 1 GiB heap each; rounds timed. */
    private static JvmProcess submit(String name, Path out, String... more) throws IOException {
        List<String> args = new ArrayList<>(ARGS);
        args.addAll(List.of("--out", out.toString()));
        args.addAll(List.of(more));
        return cluster.submit(name, JAR, List.of("--class", SparkFineTune.class.getName(), "--name", name,
                "--conf", "spark.executor.memory=1g", "--conf", "spark.executor.cores=1", "--conf", "spark.cores.max=2",
                "--conf", "spark.executor.extraJavaOptions=" + String.join(" ", LoopbackCluster.OPENS) + " " + RoundTimes.CLOCK,
                "--conf", "spark.executorEnv.OMP_NUM_THREADS=1", "--conf", "spark.ui.enabled=false",
                "--conf", "spark.driver.host=127.0.0.1", "--conf", RoundTimes.SETTING + "=true"), args);
    }

    /** The uninterrupted run on the cluster, with the data at a path every executor reads. */
    private static synchronized Path reference() throws Exception {
        if (reference == null) {
            Path out = DIR.resolve("cluster");
            JvmProcess driver = submit("cluster", out);
            assertEquals(0, driver.awaitExit(JOB), driver.tail());
            reference = out;
            referenceLog = driver.log();
        }
        return reference;
    }

    @Test
    @Order(1)
    @DisplayName("spark-submit on a standalone cluster of separate JVMs writes the zip and report of local[2] and of"
            + " ParallelWrapper with 2 workers: the same weights bit for bit, the same report but for timings")
    void clusterIsLocalAndParallelWrapper() throws Exception {
        Path clusterOut = reference();
        Path localOut = DIR.resolve("local");
        Path wrapperOut = DIR.resolve("wrapper");
        List<String> local = new ArrayList<>(ARGS);
        local.addAll(List.of("--out", localOut.toString()));
        Map<String, String> props = Map.of("spark.master", "local[2]", "spark.ui.enabled", "false", "spark.driver.host", "127.0.0.1");
        props.forEach(System::setProperty);
        try {
            assertEquals(0, SparkFineTune.run(local.toArray(String[]::new), System.out, System.err));
        } finally {
            props.keySet().forEach(System::clearProperty);
        }
        List<String> wrapper = new ArrayList<>(ARGS);
        wrapper.addAll(List.of("--out", wrapperOut.toString()));
        SparkArguments a = SparkArguments.parse(wrapper.toArray(String[]::new));
        SparkFineTune.job(a, a.recipe(2)).build().run(); // no engine: the trainer's ParallelWrapper

        assertSameModel(clusterOut, localOut);
        assertSameModel(clusterOut, wrapperOut);
        assertEquals(comparable(localOut), comparable(clusterOut), "report.json, timings aside");
        assertEquals(comparable(wrapperOut), comparable(clusterOut), "report.json, timings aside");
        assertEquals(4, report(clusterOut).at("/training/steps").asInt(), "256 images, 2 tasks of 32: 4 rounds");
        System.out.printf(Locale.ROOT, "images/s: cluster (2 one-core workers) %.1f, local[2] %.1f, ParallelWrapper 2 %.1f%n",
                report(clusterOut).at("/training/imagesPerSecond").asDouble(), report(localOut).at("/training/imagesPerSecond").asDouble(),
                report(wrapperOut).at("/training/imagesPerSecond").asDouble());
        int at = referenceLog.indexOf("round times over 4 rounds");
        assertTrue(at >= 0, "the driver logs where its rounds' time went");
        String times = referenceLog.substring(at);
        assertTrue(times.contains("Fit"), "the tasks' fit is timed: " + times);
        System.out.println(times.lines().takeWhile(l -> l.startsWith("round") || l.startsWith("  ")).reduce((x, y) -> x + "\n" + y).orElse(""));
        System.out.printf(Locale.ROOT, "executor peak resident memory (1 GiB heap): %d MiB%n", cluster.peakExecutorMiB());
        assertTrue(cluster.peakExecutorMiB() > 0, "the executors' memory was sampled");
    }

    @Test
    @Order(2)
    @DisplayName("a worker killed with SIGKILL in a round (its executor with it): Spark runs the lost tasks on the other"
            + " executor and the job ends with the uninterrupted run's weights; the data shipped from the driver")
    void workerKilledInARound() throws Exception {
        Path expected = reference();
        Path out = DIR.resolve("worker-killed");
        Set<Path> earlier = listing(cluster.workDir(2)); // the folders of earlier applications' executors
        JvmProcess driver = submit("worker-killed", out, "--shipData", "true");
        // this application's executor on worker 2 has started its third task: a round after the first is under way
        awaitExecutorOutput(driver, cluster.workDir(2), earlier, "Running task", 3, JOB);
        cluster.worker(2).kill();
        assertEquals(0, driver.awaitExit(JOB), driver.tail());
        assertTrue(driver.log().contains("Lost executor"), "the driver saw its executor go:\n" + driver.tail());
        assertSameModel(expected, out);
        assertEquals(comparable(expected), comparable(out), "report.json, timings aside");
        assertEquals(files(expected), files(out), "the same files, nothing partial left beside them");
        try (Stream<Path> shipped = Files.walk(cluster.workDir(1))) {
            assertTrue(shipped.anyMatch(p -> p.getFileName().toString().equals("scalenet-data-fashion-mnist")
                    && Files.isDirectory(p)), "worker 1's executor read the data it was shipped, in its own folder");
        }
        cluster.startWorker(); // two workers again for the next test
    }

    @Test
    @Order(3)
    @DisplayName("a driver killed with SIGKILL after a checkpoint: the next submit says it resumes from the checkpoint"
            + " and ends with the uninterrupted run's weights")
    void driverKilledThenResumed() throws Exception {
        Path expected = reference();
        Path out = DIR.resolve("driver-killed");
        Path checkpoint = out.resolve(NAME + ".run").resolve("checkpoint.zip");
        JvmProcess first = submit("driver-killed", out, "--checkpointEvery", "1");
        long end = System.nanoTime() + JOB.toNanos();
        while (!Files.exists(checkpoint) || trainLines(out) < 2) {
            assertTrue(first.isAlive() && System.nanoTime() < end, "no checkpoint after 2 rounds:\n" + first.tail());
            Thread.sleep(200);
        }
        first.kill();
        assertTrue(trainLines(out) < 4, "killed before the last round");
        JvmProcess second = submit("driver-resumed", out, "--checkpointEvery", "1");
        assertEquals(0, second.awaitExit(JOB), second.tail());
        assertTrue(second.log().contains("resuming the fine-tuning from its checkpoint"), second.tail());
        assertSameModel(expected, out);
        int from = report(out).at("/training/resumedFromStep").asInt();
        assertTrue(from >= 1 && second.log().contains("resuming from step " + from + " of 4"), "resumed from the last"
                + " checkpoint, step " + from + ":\n" + second.tail());
        assertEquals(files(expected), files(out), "the same files, nothing partial left beside them");
    }

    /**
     * Waits until the log of an executor under {@code workDir}, in an application folder not in {@code earlier}, shows
     * {@code text} {@code times} times, while the driver runs.
     */
    private static void awaitExecutorOutput(JvmProcess driver, Path workDir, Set<Path> earlier, String text, int times,
                                            Duration timeout) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (Path app : listing(workDir)) {
                if (earlier.contains(app)) continue;
                try (Stream<Path> logs = Files.walk(app)) {
                    for (Path log : logs.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
                        if (JvmProcess.count(Files.readString(log), text) >= times) return;
                    }
                }
            }
            assertTrue(driver.isAlive(), "the driver ended before an executor under " + workDir + " printed \"" + text
                    + "\" " + times + " times:\n" + driver.tail());
            assertTrue(System.nanoTime() < end, "no executor under " + workDir + " printed \"" + text + "\" " + times + " times");
            Thread.sleep(100);
        }
    }

    private static Set<Path> listing(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.collect(java.util.stream.Collectors.toCollection(TreeSet::new));
        }
    }

    private static long trainLines(Path out) throws IOException {
        Path metrics = out.resolve(NAME + ".run").resolve("metrics.jsonl");
        if (!Files.exists(metrics)) return 0;
        return Files.readAllLines(metrics).stream().filter(l -> l.contains("\"train\"")).count();
    }

    /** The zip's entries byte for byte (the zip itself carries the time it was written). */
    private static void assertSameModel(Path expectedOut, Path actualOut) throws IOException {
        Map<String, byte[]> expected = entries(expectedOut.resolve(NAME + ".zip"));
        Map<String, byte[]> actual = entries(actualOut.resolve(NAME + ".zip"));
        assertEquals(expected.keySet(), actual.keySet(), "the zip's entries");
        expected.forEach((name, bytes) -> assertArrayEquals(bytes, actual.get(name), name + " in " + actualOut));
    }

    private static Map<String, byte[]> entries(Path zip) throws IOException {
        Map<String, byte[]> entries = new TreeMap<>();
        try (InputStream in = Files.newInputStream(zip); ZipInputStream z = new ZipInputStream(in)) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) entries.put(e.getName(), z.readAllBytes());
        }
        return entries;
    }

    private static JsonNode report(Path out) throws IOException {
        return new ObjectMapper().readTree(out.resolve(Report.JSON_FILE).toFile());
    }

    /**
     * The report without what differs between equal runs: the time and speed of training, the zip's digest (the zip
     * carries its time), and the paths of the run's own folders.
     */
    private static String comparable(Path out) throws IOException {
        ObjectNode r = (ObjectNode) report(out);
        ObjectNode training = (ObjectNode) r.get("training");
        training.remove(List.of("trainSeconds", "imagesPerSecond"));
        ((ObjectNode) r.get("model")).remove("sha256");
        return r.toPrettyString().replace(out.toString(), "<out>");
    }

    /** The files under {@code out}, relative to it. */
    private static Set<String> files(Path out) throws IOException {
        try (Stream<Path> walk = Files.walk(out)) {
            Set<String> names = new TreeSet<>();
            walk.filter(Files::isRegularFile).map(p -> out.relativize(p).toString()).forEach(names::add);
            return names;
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}

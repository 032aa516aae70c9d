package dev.scalenet.spark;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Spark standalone cluster on 127.0.0.1: a master and workers, each a separate JVM run from the Spark jars of
 * {@code sparkHome/jars} (the classes {@code spark-core} ships: no Spark distribution), each worker with one core and
 * its own working folder; and {@code spark-submit} as the class the script runs. {@link #close()} ends every process
 * it started.
 */
final class LoopbackCluster implements AutoCloseable {
    /** Bounds on a loaded machine: a JVM start and registration can take a minute when the cores are shared. */
    static final Duration START = Duration.ofMinutes(4);

    /** The Java 17 options Spark needs, as the build gives them (the pom's {@code spark.java17.opens}). */
    static final List<String> OPENS = Arrays.asList(System.getProperty("scalenet.spark.opens", "").trim().split("\\s+"));

    private final Path sparkHome;
    private final Path dir;
    private final int masterPort;
    private final JvmProcess master;
    private final List<JvmProcess> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<JvmProcess> others = new ArrayList<>();
    /** Samples the executors' peak resident memory (Linux's VmHWM) while they live. */
    private final java.util.concurrent.ScheduledExecutorService sampler =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "executor-memory");
                t.setDaemon(true);
                return t;
            });
    private final java.util.concurrent.atomic.AtomicLong peakExecutorKiB = new java.util.concurrent.atomic.AtomicLong();

    private LoopbackCluster(Path sparkHome, Path dir) throws IOException {
        this.sparkHome = sparkHome;
        this.dir = dir;
        this.masterPort = freePort();
        this.master = JvmProcess.start("master", List.of("-Xmx256m"), classPath(), "org.apache.spark.deploy.master.Master",
                List.of("--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(freePort())),
                env(dir.resolve("master-local")), dir.resolve("master.log"));
        sampler.scheduleWithFixedDelay(this::sampleExecutors, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** The largest peak resident set of any executor so far, in MiB (0 where /proc is not there to read). */
    long peakExecutorMiB() {
        return peakExecutorKiB.get() / 1024;
    }

    private void sampleExecutors() {
        for (JvmProcess w : List.copyOf(workers)) {
            for (long pid : w.descendants()) {
                try {
                    for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                        if (line.startsWith("VmHWM:")) {
                            long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                            peakExecutorKiB.accumulateAndGet(kib, Math::max);
                        }
                    }
                } catch (IOException | RuntimeException gone) {
                    // the executor ended between listing and reading
                }
            }
        }
    }

    /** A master and {@code workers} workers, each registered, under {@code dir}. */
    static LoopbackCluster start(Path sparkHome, Path dir, int workers) throws Exception {
        if (!Files.isDirectory(sparkHome.resolve("jars"))) {
            throw new IllegalStateException(sparkHome + "/jars is missing: build it with mvn -f src/spark-home/pom.xml package");
        }
        LoopbackCluster c = new LoopbackCluster(sparkHome, dir);
        try {
            c.master.awaitOutput("I have been elected leader", 1, START);
            for (int i = 0; i < workers; i++) c.startWorker();
            return c;
        } catch (Throwable t) {
            c.close();
            throw t;
        }
    }

    String masterUrl() {
        return "spark://127.0.0.1:" + masterPort;
    }

    /** Starts one more worker (1 core, 2 GiB for executors, its own working folder) and waits for its registration. */
    JvmProcess startWorker() throws Exception {
        int n = workers.size() + 1;
        Path work = Files.createDirectories(workDir(n));
        JvmProcess w = JvmProcess.start("worker " + n, List.of("-Xmx256m"), classPath(),
                "org.apache.spark.deploy.worker.Worker", List.of("--host", "127.0.0.1", "--port", String.valueOf(freePort()),
                        "--webui-port", String.valueOf(freePort()), "--cores", "1", "--memory", "2g", "--work-dir",
                        work.toString(), masterUrl()), env(work.resolve("local")), dir.resolve("worker-" + n + ".log"));
        workers.add(w);
        w.awaitOutput("Successfully registered with master", 1, START);
        return w;
    }

    /** Worker {@code n}'s working folder, where its executors run and keep what they fetch. */
    Path workDir(int n) {
        return dir.resolve("work-" + n);
    }

    JvmProcess worker(int n) {
        return workers.get(n - 1);
    }

    /**
     * {@code spark-submit --master <this cluster> <sparkOptions> <jar> <args>} as Spark's script runs it (the class
     * {@code SparkSubmit}; the driver runs in that JVM, client mode), with the Java options of a driver.
     */
    JvmProcess submit(String name, Path jar, List<String> sparkOptions, List<String> args) throws IOException {
        List<String> submit = new ArrayList<>(List.of("--master", masterUrl()));
        submit.addAll(sparkOptions);
        submit.add(jar.toString());
        submit.addAll(args);
        List<String> jvm = new ArrayList<>(List.of("-Xmx2g"));
        jvm.addAll(OPENS);
        JvmProcess p = JvmProcess.start(name, jvm, classPath(), "org.apache.spark.deploy.SparkSubmit", submit,
                env(dir.resolve(name + "-local")), dir.resolve(name + ".log"));
        others.add(p);
        return p;
    }

    /** Spark's jars only: what the application needs comes in the jar it submits. */
    private String classPath() {
        return sparkHome.resolve("jars").toAbsolutePath() + "/*";
    }

    /**
     * SPARK_HOME for the workers' executor class path ($SPARK_HOME/jars/*); the Scala version, which Spark's launcher
     * would otherwise look for in a source build's folders; loopback for every port and web UI; one native thread; and
     * Spark's scratch space in {@code local} (not /tmp, where a killed JVM's would stay).
     */
    private Map<String, String> env(Path local) {
        return Map.of("SPARK_HOME", sparkHome.toAbsolutePath().toString(), "SPARK_SCALA_VERSION", "2.12",
                "SPARK_LOCAL_IP", "127.0.0.1", "OMP_NUM_THREADS", "1", "SPARK_LOCAL_DIRS", local.toString());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Ends every process started here: submits first, then workers (with their executors), then the master. */
    @Override
    public void close() throws InterruptedException {
        sampler.shutdownNow();
        List<JvmProcess> all = new ArrayList<>(others);
        all.addAll(workers);
        all.add(master);
        InterruptedException interrupted = null;
        for (JvmProcess p : all) {
            try {
                p.kill();
            } catch (InterruptedException e) {
                interrupted = e;
            } catch (RuntimeException e) {
                System.err.println("could not end " + p + ": " + e);
            }
        }
        if (interrupted != null) throw interrupted;
    }
}

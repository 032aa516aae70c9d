package dev.scalenet.spark;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Java main class run as a separate process, its output in a log file: waits that are always bounded, and
 * {@link #kill()} takes its whole process tree (a Spark worker's executors, a driver's children) with it.
 */
final class JvmProcess implements AutoCloseable {
    private static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");

    private final String name;
    private final Process process;
    private final Path log;

    private JvmProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** {@code java <jvmOptions> -cp <classPath> <mainClass> <args>}, with {@code env} added, output to {@code log}. */
    static JvmProcess start(String name, List<String> jvmOptions, String classPath, String mainClass, List<String> args,
                            Map<String, String> env, Path log) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(JAVA.toString());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(classPath);
        command.add(mainClass);
        command.addAll(args);
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return new JvmProcess(name, pb.start(), log);
    }

    long pid() {
        return process.pid();
    }

    /** The process ids of its children, their children and so on. */
    List<Long> descendants() {
        return process.descendants().map(ProcessHandle::pid).toList();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The output so far. */
    String log() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(" + log + " unreadable: " + e.getMessage() + ")";
        }
    }

    /**
     * Waits until the output contains {@code text} at least {@code times} times.
     *
     * @throws AssertionError after {@code timeout}, or when the process ends first, with the output's tail
     */
    void awaitOutput(String text, int times, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (count(log(), text) < times) {
            if (!process.isAlive() && count(log(), text) < times) {
                throw new AssertionError(name + " ended (exit " + process.exitValue() + ") before printing \"" + text
                        + "\" " + times + " times:\n" + tail());
            }
            if (System.nanoTime() > end) {
                throw new AssertionError(name + " did not print \"" + text + "\" " + times + " times in " + timeout + ":\n" + tail());
            }
            Thread.sleep(250);
        }
    }

    /**
     * The exit code, waiting at most {@code timeout}.
     *
     * @throws AssertionError after {@code timeout} (the process is killed), with the output's tail
     */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
            throw new AssertionError(name + " did not end in " + timeout + " and was killed:\n" + tail());
        }
        return process.exitValue();
    }

    /** SIGKILL to the process and every descendant (children first, so none is left to a new parent). */
    void kill() throws InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.add(process.toHandle());
        for (ProcessHandle p : tree) p.destroyForcibly();
        for (ProcessHandle p : tree) {
            try {
                p.onExit().get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException(name + ": process " + p.pid() + " did not end after SIGKILL", e);
            }
        }
    }

    /** The last 60 lines of the output. */
    String tail() {
        List<String> lines = log().lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    static int count(String haystack, String needle) {
        int n = 0;
        for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length())) n++;
        return n;
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    @Override
    public String toString() {
        return name + " (pid " + pid() + ", log " + log + ")";
    }
}

package dev.scalenet.spark;

import org.deeplearning4j.spark.api.stats.SparkTrainingStats;
import org.deeplearning4j.spark.stats.EventStats;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a round's time goes, from DL4J's Spark training statistics: the driver's broadcast of the weights, the tasks'
 * fit, the aggregation of their results (which includes their serialisation and transfer), and the rest, as events
 * and milliseconds. DL4J collects them when asked ({@code ParameterAveragingTrainingMaster}'s
 * {@code collectTrainingStats}); the engine asks when the Spark setting {@value #SETTING} is true.
 */
final class RoundTimes {
    /** The Spark setting that turns the statistics on, e.g. {@code --conf spark.scalenet.roundTimes=true}. */
    static final String SETTING = "spark.scalenet.roundTimes";

    /**
     * DL4J's statistics take their times from an NTP server unless told to use the system clock, and fail after 10
     * unanswered queries: every JVM of the job (driver and executors) needs this system property.
     */
    static final String CLOCK = "-D" + org.deeplearning4j.spark.time.TimeSourceProvider.TIMESOURCE_CLASSNAME_PROPERTY + "="
            + org.deeplearning4j.spark.time.SystemClockTimeSource.class.getName();

    private RoundTimes() {}

    /**
     * Whether {@code conf} asks for round times; if so, sets the system clock on this JVM (the driver's) and checks that
     * the executors (other JVMs unless the master is local) get it too.
     *
     * @throws dev.scalenet.InvalidSettingException naming {@link #SETTING} when the executors' Java options lack {@link #CLOCK}
     */
    static boolean requested(org.apache.spark.SparkConf conf) {
        if (!conf.getBoolean(SETTING, false)) return false;
        String executors = conf.get("spark.executor.extraJavaOptions", "");
        dev.scalenet.InvalidSettingException.require(conf.get("spark.master", "").startsWith("local") || executors.contains(CLOCK),
                SETTING, "true", CLOCK + " in spark.executor.extraJavaOptions too: DL4J's training statistics ask an NTP server"
                + " for the time otherwise");
        String[] property = CLOCK.substring(2).split("=", 2);
        System.setProperty(property[0], property[1]);
        return true;
    }

    /**
     * One line a statistic of {@code stats} (DL4J's, collected over {@code rounds} rounds, the executors' nested in
     * them): its events, their mean and total milliseconds. The executors' events overlap in time (the tasks run in
     * parallel), and the first round's include the executors' warm-up.
     */
    static String summary(SparkTrainingStats stats, long rounds) {
        Map<String, long[]> totals = new TreeMap<>();
        for (SparkTrainingStats s = stats; s != null; s = s.getNestedTrainingStats()) {
            for (String key : s.getKeySet()) {
                List<EventStats> events = s.getValue(key);
                if (events == null) continue;
                long[] t = totals.computeIfAbsent(key, k -> new long[2]); // short names collide (driver's and tasks' Fit)
                for (EventStats e : events) {
                    t[0]++;
                    t[1] += e.getDurationMs();
                }
            }
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round times over %d rounds (events, mean ms, total ms):", rounds));
        totals.forEach((k, t) -> line.append(String.format(Locale.ROOT, "%n  %-52s %5d %9.1f %9d", k, t[0],
                t[0] == 0 ? 0.0 : t[1] / (double) t[0], t[1])));
        return line.toString();
    }
}

package dev.scalenet.engine;

import dev.scalenet.InvalidSettingException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * How the layers run on this JVM: which engine takes a layer call ({@link Engine}), how a batch is cut into shards, and
 * how many threads native work may use. One immutable value, read from the {@code scalenet.*} system properties the
 * first time it is needed; {@link #use} replaces it for a scope (tests compare engines that way) and restores it after.
 * Every setting is declared once, in {@link #SETTINGS}, with its property, default and meaning: the backends page's
 * table is that list ({@code EngineSettingsTest} compares them).
 */
public final class EngineSettings {
    /** One setting: its system property, its default as text, what it does, how it is parsed into a builder and read back. */
    public record Setting(String property, String defaultValue, String meaning, BiConsumer<Builder, String> apply,
                          Function<EngineSettings, Object> read) {}

    private static final List<Setting> SETTINGS_LIST = new ArrayList<>();
    /** Every setting, in the order of the backends page's table. */
    public static final List<Setting> SETTINGS = Collections.unmodifiableList(SETTINGS_LIST);

    static {
        declare("scalenet.hostKernels", "true", "The CPU engine (fp32 on the CPU backend); false gives every layer call to the reference.",
                (b, v) -> b.cpuEngine(bool(v)),
                s -> s.cpuEngine());
        declare("scalenet.hostKernels.maxElements", String.valueOf(1L << 22),
                "A layer call whose activations per batch shard exceed this many elements goes to the reference (bounds the CPU engine's Java work arrays).",
                (b, v) -> b.cpuEngineMaxElements(number(v)),
                s -> s.cpuEngineMaxElements());
        declare("scalenet.hostAttention.maxTokens", "64",
                "Sequences up to this long run the CPU engine's lane attention (token-major); longer ones its GEMM attention.",
                (b, v) -> b.laneAttentionMaxTokens(number(v)),
                s -> s.laneAttentionMaxTokens());
        declare("scalenet.residentInference", "true", "The CPU engine's inference keeps a shard's rows in Java through the whole stack.",
                (b, v) -> b.residentInference(bool(v)),
                s -> s.residentInference());
        declare("scalenet.directBlas", "true",
                "fp32 products call OpenBLAS's cblas_sgemm directly; false sends the CPU engine's layer calls to the reference.",
                (b, v) -> b.directBlas(bool(v)),
                s -> s.directBlas());
        declare("scalenet.shards", "2", "Batch shards per layer call on the CPU backend (fixed, so a seed gives the same bits on any machine); 1 turns sharding off.",
                (b, v) -> b.shards(count(v)),
                s -> s.shards());
        declare("scalenet.shards.minElements", String.valueOf(1L << 16), "A batch whose shards would hold fewer activation elements runs unsharded.",
                (b, v) -> b.shardsMinElements(number(v)),
                s -> s.shardsMinElements());
        declare("scalenet.threads", "auto", "auto: a layer call narrows ND4J's and OpenBLAS's threads for small work; inherit: leaves them alone.",
                (b, v) -> b.threadsAuto(choice(v, "auto", "inherit")),
                s -> s.threadsAuto() ? "auto" : "inherit");
        declare("scalenet.threads.ompElements", String.valueOf(1L << 20), "Below this many activation elements a call's element-wise ops run on its own thread.",
                (b, v) -> b.ompElements(number(v)),
                s -> s.ompElements());
        declare("scalenet.threads.blasElements", String.valueOf(1L << 22), "Below this many activation elements a call's GEMMs run on its own thread.",
                (b, v) -> b.blasElements(number(v)),
                s -> s.blasElements());
        declare("scalenet.shards.openmpTeams", "true", "Each shard worker starts its own OpenMP team, which throttles libgomp's spinning.",
                (b, v) -> b.openmpTeams(bool(v)),
                s -> s.openmpTeams());
    }

    private static volatile EngineSettings current;

    /** The values, held in a builder that nothing else can reach, so each field is declared once (in {@link Builder}). */
    private final Builder values;

    private EngineSettings(Builder b) {
        values = b.copy();
    }

    /** The settings in force: from the system properties, read once, unless {@link #use} replaced them. */
    public static EngineSettings current() {
        EngineSettings s = current;
        if (s == null) {
            synchronized (EngineSettings.class) {
                if (current == null) current = from(System.getProperties());
                s = current;
            }
        }
        return s;
    }

    /** Every setting at its default. */
    public static EngineSettings defaults() {
        return from(new Properties());
    }

    /** The settings the given properties ask for, each absent one at its default; a bad value names its property. */
    public static EngineSettings from(Properties properties) {
        Builder b = new Builder();
        for (Setting s : SETTINGS) {
            String v = properties.getProperty(s.property(), s.defaultValue()).trim();
            try {
                s.apply().accept(b, v);
            } catch (UnreadableValue e) {
                throw new InvalidSettingException(s.property(), v, e.getMessage());
            }
        }
        return b.build();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        return values.copy();
    }

    /** Puts {@code settings} in force until the returned scope closes, which restores the ones before. */
    public static Scope use(EngineSettings settings) {
        EngineSettings before = current();
        current = Objects.requireNonNull(settings);
        return () -> current = before;
    }

    /** A scope of {@link #use}; closing it does not throw. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    public boolean cpuEngine() { return values.cpuEngine; }
    public long cpuEngineMaxElements() { return values.cpuEngineMaxElements; }
    public long laneAttentionMaxTokens() { return values.laneAttentionMaxTokens; }
    public boolean residentInference() { return values.residentInference; }
    public boolean directBlas() { return values.directBlas; }
    public int shards() { return values.shards; }
    public long shardsMinElements() { return values.shardsMinElements; }
    public boolean threadsAuto() { return values.threadsAuto; }
    public long ompElements() { return values.ompElements; }
    public long blasElements() { return values.blasElements; }
    public boolean openmpTeams() { return values.openmpTeams; }

    /** The settings by property, as text: for logs and run records. */
    public Map<String, String> asProperties() {
        Map<String, String> m = new LinkedHashMap<>();
        for (Setting s : SETTINGS) m.put(s.property(), String.valueOf(s.read().apply(this)));
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineSettings other && asProperties().equals(other.asProperties());
    }

    @Override
    public int hashCode() {
        return asProperties().hashCode();
    }

    @Override
    public String toString() {
        return asProperties().toString();
    }

    /** Changes settings: {@link #toBuilder} starts one from settings in force, {@link #defaults} or {@link #from}. */
    public static final class Builder implements Cloneable {
        private boolean cpuEngine;
        private long cpuEngineMaxElements;
        private long laneAttentionMaxTokens;
        private boolean residentInference;
        private boolean directBlas;
        private int shards;
        private long shardsMinElements;
        private boolean threadsAuto;
        private long ompElements;
        private long blasElements;
        private boolean openmpTeams;

        private Builder() {}

        public Builder cpuEngine(boolean on) { cpuEngine = on; return this; }
        public Builder cpuEngineMaxElements(long n) { cpuEngineMaxElements = requirePositive("scalenet.hostKernels.maxElements", n); return this; }
        public Builder laneAttentionMaxTokens(long n) { laneAttentionMaxTokens = requirePositive("scalenet.hostAttention.maxTokens", n); return this; }
        public Builder residentInference(boolean on) { residentInference = on; return this; }
        public Builder directBlas(boolean on) { directBlas = on; return this; }
        public Builder shards(int n) { shards = (int) requirePositive("scalenet.shards", n); return this; }
        public Builder shardsMinElements(long n) { shardsMinElements = requirePositive("scalenet.shards.minElements", n); return this; }
        public Builder threadsAuto(boolean on) { threadsAuto = on; return this; }
        public Builder ompElements(long n) { ompElements = requirePositive("scalenet.threads.ompElements", n); return this; }
        public Builder blasElements(long n) { blasElements = requirePositive("scalenet.threads.blasElements", n); return this; }
        public Builder openmpTeams(boolean on) { openmpTeams = on; return this; }

        public EngineSettings build() {
            return new EngineSettings(this);
        }

        private Builder copy() {
            try {
                return (Builder) clone(); // primitives only: a shallow copy is a full one
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
        }
    }

    private static void declare(String property, String defaultValue, String meaning, BiConsumer<Builder, String> apply,
                                Function<EngineSettings, Object> read) {
        SETTINGS_LIST.add(new Setting(property, defaultValue, meaning, apply, read));
    }

    /** A property's text that is not of its kind; {@link #from} names the property. The message is what was expected. */
    private static final class UnreadableValue extends RuntimeException {
        UnreadableValue(String expected) {
            super(expected, null, false, false);
        }
    }

    private static boolean bool(String v) {
        return choice(v, "true", "false");
    }

    private static boolean choice(String v, String yes, String no) {
        if (v.equalsIgnoreCase(yes)) return true;
        if (v.equalsIgnoreCase(no)) return false;
        throw new UnreadableValue(yes + " or " + no);
    }

    /** A whole number; the builder's setter checks its range. */
    private static long number(String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UnreadableValue("a positive whole number");
        }
    }

    /** A whole number that fits an int; the builder's setter checks its range. */
    private static int count(String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UnreadableValue("a positive whole number"); // beyond an int too: no machine has that many cores
        }
    }

    private static long requirePositive(String property, long n) {
        InvalidSettingException.require(n > 0, property, n, "a positive whole number");
        return n;
    }
}

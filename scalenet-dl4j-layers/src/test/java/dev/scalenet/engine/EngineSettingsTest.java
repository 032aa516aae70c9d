package dev.scalenet.engine;

import dev.scalenet.InvalidSettingException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The engine's settings: one declaration each, read from system properties, replaced for a scope, documented as declared. */
class EngineSettingsTest {
    private static final Path BACKENDS = Paths.get("../site/src/site/markdown/backends.md");

    @Test
    @DisplayName("the backends page's settings table lists every setting, in order, with its default and meaning as declared")
    void backendsPageTableIsTheDeclarations() throws IOException {
        List<String> expected = new ArrayList<>();
        for (EngineSettings.Setting s : EngineSettings.SETTINGS) {
            expected.add("| `" + s.property() + "` | `" + s.defaultValue() + "` | " + s.meaning() + " |");
        }
        List<String> rows = new ArrayList<>();
        for (String line : Files.readAllLines(BACKENDS)) {
            if (line.startsWith("| `scalenet.")) rows.add(line);
        }
        assertEquals(expected, rows);
        assertEquals(11, expected.size());
    }

    @Test
    @DisplayName("properties set the settings; absent ones take their defaults; the defaults read back as declared")
    void readsProperties() {
        Properties p = new Properties();
        p.setProperty("scalenet.shards", "3");
        p.setProperty("scalenet.threads", "inherit");
        p.setProperty("scalenet.hostKernels", "FALSE");
        EngineSettings s = EngineSettings.from(p);
        assertEquals(3, s.shards());
        assertEquals(false, s.threadsAuto());
        assertEquals(false, s.cpuEngine());
        assertEquals(64, s.laneAttentionMaxTokens());
        for (EngineSettings.Setting setting : EngineSettings.SETTINGS) {
            assertEquals(setting.defaultValue(), EngineSettings.defaults().asProperties().get(setting.property()), setting.property());
        }
        assertEquals("3", s.asProperties().get("scalenet.shards"));
        assertEquals(s, EngineSettings.from(p));
        assertNotEquals(s, EngineSettings.defaults());
    }

    @Test
    @DisplayName("a bad value names its property, the value and what is allowed")
    void badValuesNameTheirProperty() {
        Properties p = new Properties();
        p.setProperty("scalenet.shards", "two");
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> EngineSettings.from(p));
        assertEquals("scalenet.shards = two: expected a positive whole number", e.getMessage());
        p.setProperty("scalenet.shards", "0");
        assertEquals("scalenet.shards", assertThrows(InvalidSettingException.class, () -> EngineSettings.from(p)).setting());
        p.setProperty("scalenet.shards", "4294967296");
        assertEquals("scalenet.shards = 4294967296: expected a positive whole number",
                assertThrows(InvalidSettingException.class, () -> EngineSettings.from(p)).getMessage());
        Properties q = new Properties();
        q.setProperty("scalenet.residentInference", "yes");
        assertEquals("scalenet.residentInference = yes: expected true or false",
                assertThrows(InvalidSettingException.class, () -> EngineSettings.from(q)).getMessage());
        Properties r = new Properties();
        r.setProperty("scalenet.threads", "all");
        assertEquals("scalenet.threads = all: expected auto or inherit",
                assertThrows(InvalidSettingException.class, () -> EngineSettings.from(r)).getMessage());
    }

    @Test
    @DisplayName("use() puts settings in force for a scope and restores the ones before, nested scopes too")
    void useRestores() {
        EngineSettings before = EngineSettings.current();
        EngineSettings one = before.toBuilder().shards(1).build();
        EngineSettings three = before.toBuilder().shards(3).build();
        try (EngineSettings.Scope a = EngineSettings.use(one)) {
            assertSame(one, EngineSettings.current());
            try (EngineSettings.Scope b = EngineSettings.use(three)) {
                assertSame(three, EngineSettings.current());
            }
            assertSame(one, EngineSettings.current());
        }
        assertSame(before, EngineSettings.current());
    }
}

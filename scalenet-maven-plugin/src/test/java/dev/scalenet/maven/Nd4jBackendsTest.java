package dev.scalenet.maven;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Nd4jBackendsTest {
    @Test
    @DisplayName("the loader ND4J sees while initialising lists exactly the chosen backend, and passes everything else through")
    void oneBackend() throws Exception {
        ClassLoader parent = getClass().getClassLoader();
        ClassLoader only = new Nd4jBackends.OneBackendClassLoader(parent, "org.nd4j.linalg.jcublas.JCublasBackend");
        List<URL> lists = Collections.list(only.getResources(Nd4jBackends.SERVICE_FILE));
        assertEquals(1, lists.size());
        try (InputStream in = lists.get(0).openStream()) {
            assertEquals("org.nd4j.linalg.jcublas.JCublasBackend\n", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertFalse(Collections.list(parent.getResources(Nd4jBackends.SERVICE_FILE)).isEmpty(), "nd4j-native lists its backend");
        assertEquals(Collections.list(parent.getResources("META-INF/MANIFEST.MF")), Collections.list(only.getResources("META-INF/MANIFEST.MF")));
        assertEquals(parent.loadClass(Nd4jBackends.class.getName()), only.loadClass(Nd4jBackends.class.getName()));
    }

    @Test
    @DisplayName("probing finds the CPU backend of the plugin's own dependencies, usable on this machine")
    void probeCpu() {
        List<BackendCandidate> found = Nd4jBackends.probe(EnumSet.of(BackendCandidate.Kind.CPU));
        assertEquals(1, found.size(), found.toString());
        assertEquals("org.nd4j.linalg.cpu.nativecpu.CpuBackend", found.get(0).className());
        assertTrue(found.get(0).available(), found.get(0).reason());
    }
}

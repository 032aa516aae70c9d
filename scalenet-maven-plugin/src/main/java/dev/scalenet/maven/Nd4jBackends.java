package dev.scalenet.maven;

import org.nd4j.common.config.ND4JClassLoading;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.factory.Nd4jBackend;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;

/**
 * Finds the ND4J backends on the plugin's class path and loads the chosen one.
 *
 * <p>How ND4J 1.0.0-M2.1 picks a backend, read from {@code Nd4jBackend.load()}: it lists every
 * {@code META-INF/services/org.nd4j.linalg.factory.Nd4jBackend} provider through {@code ND4JClassLoading}'s class
 * loader, sorts them by {@code getPriority()} (CPU 0, CUDA 100; only the environment variables
 * {@code BACKEND_PRIORITY_CPU} / {@code BACKEND_PRIORITY_GPU} change that) and takes the first whose
 * {@code isAvailable()} holds, logging "Skipped [JCublasBackend] backend (unavailable)" for the others. This
 * happens once, when the {@code Nd4j} class initialises. A build cannot set environment variables for its own
 * JVM, so to load the backend the policy chose, ND4J's class loader is wrapped for that moment in one whose
 * service list names only that backend.
 */
final class Nd4jBackends {
    static final String SERVICE_FILE = "META-INF/services/" + Nd4jBackend.class.getName();

    /** The backend this plugin's class realm has loaded; ND4J cannot switch backends once initialised. */
    private static String loaded;

    private Nd4jBackends() {}

    /**
     * Every backend provider on the class path of the given kinds, each asked whether it can run here (only those:
     * asking CUDA prints ND4J's stack trace when it cannot run).
     */
    static List<BackendCandidate> probe(java.util.Set<BackendCandidate.Kind> kinds) {
        List<BackendCandidate> found = new ArrayList<>();
        Iterator<Nd4jBackend> it = ND4JClassLoading.loadService(Nd4jBackend.class).iterator();
        while (true) {
            Nd4jBackend backend;
            try {
                if (!it.hasNext()) break;
                backend = it.next();
            } catch (ServiceConfigurationError e) { // a provider whose classes are incomplete: report, go on
                found.add(BackendCandidate.unavailable(String.valueOf(e.getMessage()), rootMessage(e)));
                continue;
            }
            String name = backend.getClass().getName();
            if (!kinds.contains(BackendCandidate.kindOf(name))) continue;
            try {
                found.add(backend.isAvailable() ? BackendCandidate.available(name)
                        : BackendCandidate.unavailable(name, "its isAvailable() is false"));
            } catch (Throwable e) { // JCublasBackend throws when cudart or the devices are missing
                found.add(BackendCandidate.unavailable(name, rootMessage(e)));
            }
        }
        return found;
    }

    /**
     * Initialises ND4J with {@code chosen}, unless this plugin already did so in this build.
     *
     * @return the backend ND4J runs on; differs from {@code chosen} if an earlier execution loaded another
     */
    static synchronized String load(BackendCandidate chosen) {
        if (loaded != null) return loaded;
        ClassLoader original = ND4JClassLoading.getNd4jClassloader();
        ND4JClassLoading.setNd4jClassloader(new OneBackendClassLoader(original, chosen.className()));
        try {
            loaded = Nd4j.getBackend().getClass().getName();
        } finally {
            ND4JClassLoading.setNd4jClassloader(original);
        }
        return loaded;
    }

    /** The backend {@link #load} loaded in this class realm, if it ran. */
    static synchronized java.util.Optional<String> loaded() {
        return java.util.Optional.ofNullable(loaded);
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    /** Delegates everything, except that the backend service list names one backend. */
    static final class OneBackendClassLoader extends ClassLoader {
        private final String backendClass;

        OneBackendClassLoader(ClassLoader parent, String backendClass) {
            super(parent);
            this.backendClass = backendClass;
        }

        @Override
        public Enumeration<URL> getResources(String name) throws IOException {
            if (!SERVICE_FILE.equals(name)) return super.getResources(name);
            byte[] content = (backendClass + "\n").getBytes(StandardCharsets.UTF_8);
            URL url = new URL(null, "scalenet-backend:" + backendClass, new URLStreamHandler() {
                @Override
                protected URLConnection openConnection(URL u) {
                    return new URLConnection(u) {
                        @Override
                        public void connect() {}

                        @Override
                        public InputStream getInputStream() {
                            return new ByteArrayInputStream(content);
                        }
                    };
                }
            });
            return Collections.enumeration(List.of(url));
        }
    }
}

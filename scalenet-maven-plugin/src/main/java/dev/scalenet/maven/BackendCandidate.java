package dev.scalenet.maven;

/**
 * One ND4J backend found on the plugin's class path (a {@code Nd4jBackend} service), and whether it can run here.
 *
 * @param className the {@code Nd4jBackend} implementation
 * @param kind      what it computes on
 * @param available whether it can run on this machine
 * @param reason    why not, when it cannot (ND4J's own message, e.g. the native library or the devices missing)
 */
record BackendCandidate(String className, Kind kind, boolean available, String reason) {
    enum Kind { CPU, CUDA, OTHER }

    /** Tells CPU from CUDA by ND4J's package names ({@code ...cpu.nativecpu.CpuBackend}, {@code ...jcublas.JCublasBackend}). */
    static Kind kindOf(String className) {
        if (className.contains(".jcublas.")) return Kind.CUDA;
        if (className.contains(".nativecpu.")) return Kind.CPU;
        return Kind.OTHER;
    }

    static BackendCandidate available(String className) {
        return new BackendCandidate(className, kindOf(className), true, "");
    }

    static BackendCandidate unavailable(String className, String reason) {
        return new BackendCandidate(className, kindOf(className), false, reason);
    }
}

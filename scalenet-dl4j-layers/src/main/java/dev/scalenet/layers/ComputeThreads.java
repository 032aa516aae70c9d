package dev.scalenet.layers;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * How many threads the ViT layers' native work may use, chosen per layer call from the size of its activations and
 * restored when the call returns (for OpenBLAS's process-wide setting, when the last of concurrent calls returns), so
 * outside the layers' calls ND4J and OpenBLAS run as the application set them.
 *
 * <p>Why: ND4J runs element-wise ops on libnd4j's OpenMP threads and GEMMs on OpenBLAS's own pthreads. On small
 * operations each pool's wake-up and spin-wait costs more than the work, and the two pools spinning against each
 * other starve one another (profiled on the bundled model's training step: half the CPU samples in {@code libgomp}
 * spins and {@code sched_yield}, a tenth in the GEMM kernels; see the benchmarks page). So below
 * {@code scalenet.threads.ompElements} activation elements ({@code rows × width}) the ops run on the calling thread
 * only, and below {@code scalenet.threads.blasElements} the GEMMs do. {@code -Dscalenet.threads=inherit} leaves
 * ND4J's and OpenBLAS's own settings alone.
 */
final class ComputeThreads implements AutoCloseable {
    private static final boolean AUTO = !"inherit".equalsIgnoreCase(System.getProperty("scalenet.threads", "auto"));
    private static final long OMP_ELEMENTS = Long.getLong("scalenet.threads.ompElements", 1L << 20);
    private static final long BLAS_ELEMENTS = Long.getLong("scalenet.threads.blasElements", 1L << 22);
    private static final ComputeThreads NOTHING = new ComputeThreads(false, -1);

    /**
     * OpenBLAS's thread count is one setting for the whole process, and layers run concurrently (ParallelWrapper's
     * workers, Spark tasks): the first narrowing scope saves it and the last one out restores it, so a scope never
     * restores a value another scope set.
     */
    private static final Object BLAS_LOCK = new Object();
    private static int blasScopes;
    private static int blasBefore;

    private final boolean serialGemm;
    private final int ompBefore;

    private ComputeThreads(boolean serialGemm, int ompBefore) {
        this.serialGemm = serialGemm;
        this.ompBefore = ompBefore;
    }

    /** Narrows the thread counts for a layer call over {@code elements} activation elements; close to restore. */
    static ComputeThreads forElements(long elements) {
        if (!AUTO) return NOTHING;
        boolean serialOps = elements < OMP_ELEMENTS;
        boolean serialGemm = elements < BLAS_ELEMENTS;
        if (!serialOps && !serialGemm) return NOTHING;
        if (serialGemm) {
            synchronized (BLAS_LOCK) {
                if (blasScopes++ == 0) {
                    blasBefore = Nd4j.factory().blas().getMaxThreads();
                    if (blasBefore > 1) Nd4j.factory().blas().setMaxThreads(1);
                }
            }
        }
        int omp = -1;
        if (serialOps) {
            // omp_set_num_threads: the calling thread's own setting for the parallel regions it starts
            omp = Nd4j.getEnvironment().maxThreads();
            if (omp > 1) NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(1);
        }
        return new ComputeThreads(serialGemm, omp);
    }

    @Override
    public void close() {
        if (serialGemm) {
            synchronized (BLAS_LOCK) {
                if (--blasScopes == 0 && blasBefore > 1) Nd4j.factory().blas().setMaxThreads(blasBefore);
            }
        }
        if (ompBefore > 1) NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(ompBefore);
    }
}

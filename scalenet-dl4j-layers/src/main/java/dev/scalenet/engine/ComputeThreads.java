package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;

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
public final class ComputeThreads implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ComputeThreads.class);
    private static final ComputeThreads NOTHING = new ComputeThreads(false, -1);

    /**
     * OpenBLAS's thread count is one setting for the whole process, and layers run concurrently (ParallelWrapper's
     * workers, Spark tasks): the first narrowing scope saves it and the last one out restores it, so a scope never
     * restores a value another scope set.
     */
    private static final Object BLAS_LOCK = new Object();
    private static int blasScopes;
    private static int blasBefore;

    /** OpenBLAS's {@code openblas_set_num_threads}, looked up once; null where the BLAS is not OpenBLAS. */
    private static final MethodHandle OPENBLAS_SET_NUM_THREADS = openblasSetter();
    /** What the layers last set OpenBLAS's thread count to; 0 before they first changed it. */
    private static volatile int blasThreadsSet;

    private final boolean serialGemm;
    private final int ompBefore;

    private ComputeThreads(boolean serialGemm, int ompBefore) {
        this.serialGemm = serialGemm;
        this.ompBefore = ompBefore;
    }

    /**
     * Gives the calling thread an OpenMP team of its own by running one element-wise operation big enough for libnd4j
     * to split over two threads; the team's extra thread then sleeps in libgomp's pool. Why: libgomp (the OpenMP
     * runtime in ND4J's CPU backend) busy-waits after every parallel region, up to {@code GOMP_SPINCOUNT} (300,000)
     * spins, milliseconds here, unless it manages more threads than there are CPUs, when it spins 1,000 times. The
     * thread running the network (DL4J's own layers, the loss, the updater, all at ND4J's thread count) otherwise
     * leaves an OpenMP thread spinning on a core well into the batch shards' work: measured on the bundled model's
     * inference at batch 128, the second shard started 2.3 ms after it was submitted and the step took 15 ms; with
     * the shard workers' teams, 10 ms, and the training step 33 ms instead of 43 (the same as with
     * {@code OMP_WAIT_POLICY=passive} for the whole process, which a library cannot set). The throttled spinning
     * holds for the whole process; {@code -Dscalenet.threads=inherit} or {@code -Dscalenet.shards.openmpTeams=false}
     * leaves libgomp alone.
     */
    static void startOpenMpTeam() {
        EngineSettings s = EngineSettings.current();
        if (!s.threadsAuto() || !s.openmpTeams() || !Nd4j.getEnvironment().isCPU()) return;
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, 1L << 20);
        a.assign(1.0);
        a.close();
    }

    /** Narrows the thread counts for a layer call over {@code elements} activation elements; close to restore. */
    public static ComputeThreads forElements(long elements) {
        EngineSettings s = EngineSettings.current();
        if (!s.threadsAuto()) return NOTHING;
        boolean serialOps = elements < s.ompElements();
        boolean serialGemm = elements < s.blasElements();
        if (!serialOps && !serialGemm) return NOTHING;
        if (serialGemm) {
            synchronized (BLAS_LOCK) {
                if (blasScopes++ == 0) {
                    blasBefore = Nd4j.factory().blas().getMaxThreads();
                    if (blasBefore > 1) setBlasThreads(1);
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
                if (--blasScopes == 0 && blasBefore > 1) setBlasThreads(blasBefore);
            }
        }
        if (ompBefore > 1) NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(ompBefore);
    }

    /** OpenBLAS's thread count as the layers left it: ND4J's own count until they first change it. */
    static int blasThreads() {
        int set = blasThreadsSet;
        return set > 0 ? set : Nd4j.factory().blas().getMaxThreads();
    }

    /** Whether OpenBLAS's setter is called directly (the CPU backend with OpenBLAS), not through ND4J's slow one. */
    static boolean setsOpenblasDirectly() {
        return OPENBLAS_SET_NUM_THREADS != null;
    }

    /**
     * Sets OpenBLAS's thread count. ND4J's setter (JavaCPP's {@code blas_set_num_threads}) loads the library and looks
     * four function names up in it on every call, about 0.3 ms a change (8% of the bundled model's training step,
     * profiled); the function it ends up calling is looked up here once. ND4J's own count ({@code getMaxThreads}) is
     * not told: it keeps the application's setting, which is the one restored.
     */
    private static void setBlasThreads(int n) {
        blasThreadsSet = n;
        if (OPENBLAS_SET_NUM_THREADS == null) {
            Nd4j.factory().blas().setMaxThreads(n);
            return;
        }
        try {
            OPENBLAS_SET_NUM_THREADS.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads(" + n + ") failed", t);
        }
    }

    /**
     * The function JavaCPP's OpenBLAS presets call to set the thread count, when the BLAS is OpenBLAS (none of MKL's
     * setters present, as the presets decide): found reflectively, because the library compiles against nd4j-api only.
     */
    private static MethodHandle openblasSetter() {
        try {
            Class<?> presets = Class.forName("org.bytedeco.openblas.presets.openblas_nolapack");
            Class<?> loader = Class.forName("org.bytedeco.javacpp.Loader");
            Class<?> pointer = Class.forName("org.bytedeco.javacpp.Pointer");
            loader.getMethod("load", Class.class).invoke(null, presets);
            Method addressOf = loader.getMethod("addressof", String.class);
            for (String mkl : new String[] {"MKL_Set_Num_Threads", "MKL_Set_Num_Threads_Local", "MKL_Domain_Set_Num_Threads"}) {
                if (addressOf.invoke(null, mkl) != null) return null;
            }
            Object address = addressOf.invoke(null, "openblas_set_num_threads");
            if (address == null) return null;
            Class<?> function = Class.forName("org.bytedeco.openblas.presets.openblas_nolapack$SetNumThreads");
            Constructor<?> allocate = function.getDeclaredConstructor();
            allocate.setAccessible(true);
            Object f = allocate.newInstance();
            function.getMethod("put", pointer).invoke(f, address);
            MethodHandle h = MethodHandles.publicLookup().findVirtual(function, "call", MethodType.methodType(void.class, int.class))
                    .bindTo(f).asType(MethodType.methodType(void.class, int.class));
            log.info("OpenBLAS's thread count is set by openblas_set_num_threads directly (JavaCPP's OpenBLAS presets)");
            return h;
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            log.info("openblas_set_num_threads not found ({}): OpenBLAS's thread count is set through ND4J's setter, 0.3 ms a change",
                    e.toString());
            return null;
        }
    }
}

package dev.scalenet.engine;

import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

/**
 * Data parallelism inside one layer call: the batch is cut into a fixed number of shards, and each shard's work runs
 * as one task on a worker thread, in a memory arena of its own.
 *
 * <p>Why: a small ViT's operations are too small for ND4J's intra-op threads (see {@link ComputeThreads}), so without
 * this a training step of the bundled model runs on one core. Whole shards, one per core, each run serially, keep
 * every core busy with no synchronisation inside the step.
 *
 * <p>Numerics: shard {@code k} always holds the same examples and the caller adds the shards' parameter gradients in
 * shard order, so results depend on the shard count ({@link EngineSettings#shards}, default 2, read when a layer is
 * created) but not on the machine's cores or on thread timing. On a 1-core machine the shards run one after the other
 * and give the same numbers. With a backend other than the CPU one, layers run unsharded.
 *
 * <p>Arenas: shard {@code k}'s arena is a workspace created, entered and left only on worker {@code k mod workers}.
 * A training forward pass leaves it open with the state its backward pass needs; the backward pass allocates its
 * temporaries after that state and closes it. The arena of a layer nobody references is destroyed on its worker.
 * Before training, a layer {@link #reserve}s the bytes a step keeps: an arena left to learn its size spills its whole
 * first step outside itself, and glibc keeps much of that memory after it is freed, so the process's peak would be the
 * arena plus that spill (benchmarks page, "where the bytes go").
 */
public final class BatchShards {
    /** The default shard count: fixed rather than the machine's cores, so a seed gives the same numbers everywhere. */
    private static final int CORES = Runtime.getRuntime().availableProcessors();
    private static final ExecutorService[] WORKERS = new ExecutorService[CORES];
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong ARENA_IDS = new AtomicLong();
    /** Sized by its first cycle (spilling meanwhile), grown when a later one needs more. */
    private static final WorkspaceConfiguration SIZED_BY_FIRST_USE = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyAllocation(AllocationPolicy.OVERALLOCATE).overallocationLimit(0.1)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE)
            .build();

    /** An arena of a measured size ({@link #reserve}): exactly that, grown only should a step ever need more. */
    private static WorkspaceConfiguration sized(long bytes) {
        return WorkspaceConfiguration.builder()
                .initialSize(bytes)
                .policyAllocation(AllocationPolicy.STRICT)
                .policyLearning(LearningPolicy.FIRST_LOOP)
                .policyReset(ResetPolicy.BLOCK_LEFT)
                .policySpill(SpillPolicy.REALLOCATE)
                .build();
    }

    /**
     * Opens, on a worker thread inside a task, a workspace for temporaries that die before it is closed (it is reset at
     * every opening); arrays that must outlive it are copied into the arena first.
     */
    public static MemoryWorkspace scratch() {
        return Nd4j.getWorkspaceManager().getAndActivateWorkspace(SIZED_BY_FIRST_USE, SCRATCH);
    }

    private static final String SCRATCH = "scalenet-shard-scratch";

    /** Makes this worker's scratch memory hold at least {@code bytes}, made again at that size when it is smaller. */
    private static void reserveScratch(long bytes) {
        if (bytes <= 0) return;
        MemoryWorkspace s = Nd4j.getWorkspaceManager().checkIfWorkspaceExists(SCRATCH)
                ? Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(SCRATCH) : null;
        if (s != null && s.getCurrentSize() >= bytes) return;
        if (s != null) Nd4j.getWorkspaceManager().destroyWorkspace(s);
        Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(sized(bytes), SCRATCH);
    }

    /** What a task does with its shard's arena. */
    public enum Phase {
        /** Inference: a fresh arena, closed when the task ends. */
        INFER,
        /** Training forward: a fresh arena, left open with the forward state. */
        FORWARD,
        /** Training backward: the arena the forward pass left open, closed when the task ends. */
        BACKWARD
    }

    private final int count;
    private final long minElements;
    private final Arena[] arenas;

    /**
     * Shards for one layer, reading {@link EngineSettings#shards} and {@link EngineSettings#shardsMinElements} now; one
     * shard (unsharded) when the backend is not the CPU one.
     */
    public BatchShards(Object owner) {
        EngineSettings s = EngineSettings.current();
        this.count = Nd4j.getEnvironment().isCPU() ? s.shards() : 1;
        this.minElements = s.shardsMinElements();
        this.arenas = new Arena[count];
        for (int k = 0; k < count; k++) arenas[k] = new Arena(k % CORES);
        Arena[] toDestroy = arenas.clone();
        CLEANER.register(owner, () -> {
            for (Arena a : toDestroy) a.destroyLater();
        });
    }

    /**
     * How many shards a batch of {@code batch} examples over {@code elements} activation elements is cut into: 1 means
     * run on the caller, unsharded. Shards smaller than {@code scalenet.shards.minElements} (default 2^16) are not
     * worth it ({@link EngineSettings#shardsMinElements}): each ND4J operation has a fixed cost that does not run in parallel (JavaCPP's allocation bookkeeping,
     * libnd4j's op set-up), and below that size it outweighs the halved arithmetic. Measured on the bundled model's
     * training step: at batch 64 (34,816 elements a shard) two shards took 53 ms against 42 unsharded, at batch 128
     * (69,632) 60 ms against 77 (benchmarks page).
     */
    public int shardsFor(long batch, long elements) {
        int n = (int) Math.min(count, batch);
        return n > 1 && elements / n >= minElements ? n : 1;
    }

    /**
     * Makes the arenas of shards {@code 0..shards-1} hold at least {@code arenaBytes}, and their workers' {@link #scratch}
     * memory {@code scratchBytes}, from their next task on, so that a training step fits without spilling (see the class
     * comment). Memory already that large is kept; smaller is made again at this size, on its worker.
     */
    public void reserve(int shards, long arenaBytes, long scratchBytes) {
        for (int k = 0; k < shards; k++) {
            arenas[k].reserved = Math.max(arenas[k].reserved, arenaBytes);
            arenas[k].scratchReserved = Math.max(arenas[k].scratchReserved, scratchBytes);
        }
    }

    /**
     * Shard {@code k}'s memory: what was reserved for its arena and its worker's scratch memory ({@link #reserve}), and
     * what they hold now, and the most a task used of each. Memory that had to grow beyond its reservation (a step
     * spilled) holds more than reserved.
     */
    public record Sizes(long arenaReserved, long arena, long arenaUsed, long scratchReserved, long scratch, long scratchUsed) {}

    /** {@link Sizes} of shard {@code k}, read on its worker: for tests and the memory profile. */
    public Sizes sizes(int k) {
        Arena a = arenas[k];
        try {
            return worker(a.worker).submit(() -> {
                MemoryWorkspace s = Nd4j.getWorkspaceManager().checkIfWorkspaceExists(SCRATCH)
                        ? Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(SCRATCH) : null;
                return new Sizes(a.reserved, a.workspace == null ? 0 : a.workspace.getCurrentSize(),
                        a.workspace == null ? 0 : a.workspace.getMaxCycleAllocations(), a.scratchReserved,
                        s == null ? 0 : s.getCurrentSize(), s == null ? 0 : s.getMaxCycleAllocations());
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Whether each shard runs alone on its core, so that it should use no intra-op threads. */
    static boolean oneCorePerShard(int shards) {
        return shards >= CORES;
    }

    /** First example of shard {@code k} of {@code shards} over {@code batch} examples; shard k ends where k + 1 starts. */
    public static long start(int k, int shards, long batch) {
        return k * batch / shards;
    }

    /**
     * Runs {@code task} for shards {@code 0..shards-1}, each on its worker inside its arena, and waits for all.
     * A task's exception is rethrown here, after every task has ended.
     */
    public void run(int shards, Phase phase, IntConsumer task) {
        List<Future<?>> running = new ArrayList<>(shards);
        for (int k = 0; k < shards; k++) {
            Arena arena = arenas[k];
            int shard = k;
            running.add(worker(arena.worker).submit(() -> arena.run(phase, () -> task.accept(shard))));
        }
        Throwable failure = null;
        boolean interrupted = false;
        for (Future<?> f : running) {
            while (true) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (failure == null) failure = e.getCause();
                } catch (InterruptedException e) {
                    interrupted = true; // the shards write into the caller's arrays: wait for them regardless
                    continue;
                }
                break;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (failure instanceof RuntimeException) throw (RuntimeException) failure;
        if (failure instanceof Error) throw (Error) failure;
        if (failure != null) throw new IllegalStateException("a batch shard failed", failure);
    }

    /**
     * {@link #run}, each task with its threads chosen for {@code elementsPerShard} activation elements
     * ({@link ComputeThreads}): none besides its own when every shard has a core to itself.
     */
    public void runThreaded(int shards, Phase phase, long elementsPerShard, IntConsumer task) {
        long elements = oneCorePerShard(shards) ? 0 : elementsPerShard;
        run(shards, phase, k -> {
            try (ComputeThreads threads = ComputeThreads.forElements(elements)) {
                task.accept(k);
            }
        });
    }

    private static synchronized ExecutorService worker(int i) {
        if (WORKERS[i] == null) {
            WORKERS[i] = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "scalenet-shard-" + i);
                t.setDaemon(true);
                return t;
            });
            WORKERS[i].submit(ComputeThreads::startOpenMpTeam); // runs before the worker's first shard
        }
        return WORKERS[i];
    }

    /** One shard's workspace; touched only on its worker thread, where no other workspace is current between tasks. */
    private static final class Arena {
        final int worker;
        /** Set before a task is submitted (which orders them before the task reads them), read on the worker. */
        long reserved;
        long scratchReserved;
        private MemoryWorkspace workspace;
        private boolean open;

        Arena(int worker) {
            this.worker = worker;
        }

        void run(Phase phase, Runnable body) {
            if (phase == Phase.BACKWARD) {
                if (!open) throw new IllegalStateException("a shard's backward pass ran without its forward pass");
                Nd4j.getMemoryManager().setCurrentWorkspace(workspace);
            } else {
                closeIfOpen();
                if (workspace != null && workspace.getCurrentSize() < reserved) {
                    Nd4j.getWorkspaceManager().destroyWorkspace(workspace);
                    workspace = null;
                }
                if (workspace == null) {
                    workspace = Nd4j.getWorkspaceManager().createNewWorkspace(reserved > 0 ? sized(reserved) : SIZED_BY_FIRST_USE,
                            "scalenet-shard-" + ARENA_IDS.incrementAndGet());
                }
                reserveScratch(scratchReserved);
                workspace.notifyScopeEntered();
                open = true;
            }
            boolean completed = false;
            try {
                body.run();
                completed = true;
            } finally {
                if (completed && phase == Phase.FORWARD) { // keep the forward state for the backward pass
                    Nd4j.getMemoryManager().setCurrentWorkspace(null);
                } else {
                    close();
                }
            }
        }

        private void closeIfOpen() {
            if (open) {
                Nd4j.getMemoryManager().setCurrentWorkspace(workspace);
                close();
            }
        }

        /** Leaves the arena: its close restores the workspace current when it was entered, none on a worker. */
        private void close() {
            open = false;
            workspace.close();
        }

        void destroyLater() {
            worker(worker).execute(() -> {
                if (workspace != null) {
                    closeIfOpen();
                    Nd4j.getWorkspaceManager().destroyWorkspace(workspace);
                    workspace = null;
                }
            });
        }
    }
}

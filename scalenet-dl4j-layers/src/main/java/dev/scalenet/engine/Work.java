package dev.scalenet.engine;

/**
 * A thread's work arrays for the CPU engine's kernels, handed out by frames: a kernel opens a frame, asks it for arrays
 * of the sizes its shapes need, and closes it when it returns; the next frame on that thread gets the same arrays again,
 * grown where it needs more. Frames nest (a kernel may call another), so no caller picks a numbered slot that another
 * might be using. Contents are undefined when handed out. Memory: a thread keeps the largest arrays its kernels asked for.
 */
final class Work {
    private static final ThreadLocal<Work> OF_THREAD = ThreadLocal.withInitial(Work::new);

    private float[][] arrays = new float[8][];
    private int top;

    private Work() {}

    /** Opens a frame on this thread's work arrays. */
    static Frame frame() {
        return OF_THREAD.get().new Frame();
    }

    /** Arrays handed out until {@link #close}; use each only inside the frame. */
    final class Frame implements AutoCloseable {
        private final int start = top;

        /** An array of at least {@code n} floats. */
        float[] floats(long n) {
            if (top == arrays.length) arrays = java.util.Arrays.copyOf(arrays, 2 * top);
            if (arrays[top] == null || arrays[top].length < n) arrays[top] = new float[Math.toIntExact(n)];
            return arrays[top++];
        }

        @Override
        public void close() {
            top = start;
        }
    }
}

package dev.incontext.ops;

import org.bytedeco.pytorch.global.torch;

/** The CPU thread pools under libtorch's work: its intra-op (OpenMP) pool and the BLAS's. */
public final class Threads {
    private Threads() {}

    /**
     * Sizes the two thread pools that run libtorch's CPU work: its intra-op (OpenMP) pool and the OpenBLAS pool under
     * its matrix products, which torch.set_num_threads does not reach. 0 leaves a pool as the environment set it.
     */
    public static void set(int torchThreads, int blasThreads) {
        if (torchThreads > 0) {
            torch.set_num_threads(torchThreads);
        }
        if (blasThreads > 0) {
            NativeLibrary.load();
            NativeOps.set_blas_threads(blasThreads);
        } else if (torchThreads > 0 && Blas.isMkl()) {
            // MKL runs on torch's OpenMP pool but keeps its own thread count (the cores, or OMP_NUM_THREADS as the
            // process started): without this a 1-thread run's products would still split over every core, and
            // the same config would round differently in a 1-core Spark executor than in a serial run.
            NativeOps.set_blas_threads(torchThreads);
        }
    }
}

package dev.incontext.ops;

import org.bytedeco.pytorch.global.torch;

/** The CPU thread pools under libtorch's work: its intra-op (OpenMP) pool and the BLAS's. */
public final class Threads {
    private Threads() {}

    /**
     * The torch thread count a config's {@code threads: 0} stands for: {@code OMP_NUM_THREADS} where the environment
     * sets it (its first entry), else the cores this JVM may use ({@link Runtime#availableProcessors()}, which follows
     * CPU affinity and container limits). libtorch's own default is not used: it counts physical cores with its own
     * CPUID reading, which on some virtual machines says 1 where the OS (and Python's torch, through MKL) says 2.
     */
    public static int defaultTorchThreads() {
        return fromEnvironment(System.getenv("OMP_NUM_THREADS"), Runtime.getRuntime().availableProcessors());
    }

    static int fromEnvironment(String ompNumThreads, int cores) {
        if (ompNumThreads != null) {
            String first = ompNumThreads.split(",", -1)[0].trim();
            try {
                int n = Integer.parseInt(first);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // not a count: fall through to the cores, as libtorch and OpenMP ignore it too
            }
        }
        return Math.max(1, cores);
    }

    /**
     * Sizes the two thread pools that run libtorch's CPU work: its intra-op (OpenMP) pool and the OpenBLAS pool under
     * its matrix products, which torch.set_num_threads does not reach. Torch threads 0 means
     * {@link #defaultTorchThreads()}; BLAS threads 0 leaves OpenBLAS's pool as the environment set it, while MKL (on
     * torch's OpenMP pool) follows the torch count.
     */
    public static void set(int torchThreads, int blasThreads) {
        NativeLibrary.load();
        int torchCount = torchThreads > 0 ? torchThreads : defaultTorchThreads();
        torch.set_num_threads(torchCount);
        if (blasThreads > 0) {
            NativeOps.set_blas_threads(blasThreads);
        } else if (Blas.isMkl()) {
            // MKL runs on torch's OpenMP pool but keeps its own thread count (the cores, or OMP_NUM_THREADS as the
            // process started): without this a 1-thread run's products would still split over every core, and
            // the same config would round differently in a 1-core Spark executor than in a serial run.
            NativeOps.set_blas_threads(torchCount);
        }
    }
}

package dev.incontext.util;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Turns a config's device name into tensor options, failing clearly when CUDA is asked for but absent. */
public final class Devices {
    private Devices() {}

    public static TensorOptions float32(String device) {
        String d = device.toLowerCase(java.util.Locale.ROOT);
        if (d.startsWith("cuda") && !torch.cuda_is_available()) {
            throw new IllegalArgumentException("device '" + device + "' requested, but CUDA is not available: this "
                    + "build uses the CPU libtorch (build with `mvn -Pgpu package` on a machine with an NVIDIA driver) "
                    + "or no GPU is visible. Use device=cpu.");
        }
        return new TensorOptions(torch.ScalarType.Float).device(new DeviceOptional(new Device(d)));
    }

    /**
     * Sizes the two thread pools that run libtorch's CPU work: its intra-op (OpenMP) pool and the OpenBLAS pool under
     * its matrix products, which torch.set_num_threads does not reach. 0 leaves a pool as the environment set it.
     */
    public static void threads(int torchThreads, int blasThreads) {
        if (torchThreads > 0) {
            torch.set_num_threads(torchThreads);
        }
        if (blasThreads > 0) {
            dev.incontext.ops.NativeLibrary.load();
            dev.incontext.ops.NativeOps.set_blas_threads(blasThreads);
        } else if (torchThreads > 0 && dev.incontext.ops.Blas.isMkl()) {
            // MKL runs on torch's OpenMP pool but keeps its own thread count (the cores, or OMP_NUM_THREADS as the
            // process started): without this a 1-thread run's products would still split over every core, and
            // the same config would round differently in a 1-core Spark executor than in a serial run.
            dev.incontext.ops.NativeOps.set_blas_threads(torchThreads);
        }
    }
}

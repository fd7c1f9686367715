package dev.incontext.ops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.pytorch.global.torch;

/**
 * Mixed precision through libtorch's autocast: inside a scope, the matrix products (linear, matmul, bmm, addmm) run
 * in bfloat16 (or float16) with float32 accumulation while the parameters, their gradients and everything outside
 * the autocast lists stay float32; the project's attention, rope and GELU ops take the low-precision activations too. Autocast's
 * cache of casted weights is switched off inside the scope, so a weight the optimiser has just updated is never read
 * from a stale bfloat16 copy (libtorch keeps that cache per thread until cleared).
 *
 * <p>Autocast state is per thread, as in libtorch: open and close a scope on the thread that runs the forward pass.
 * Scopes restore the state they found, so they nest.
 */
public final class Autocast implements AutoCloseable {
    private static final AtomicBoolean NOTICE = new AtomicBoolean();
    private static final AtomicBoolean FP16_NOTICE = new AtomicBoolean();

    private final torch.DeviceType device;
    private final boolean wasEnabled;
    private final torch.ScalarType wasType;
    private final boolean wasCache;
    private boolean closed;

    private Autocast(torch.DeviceType device, torch.ScalarType dtype) {
        this.device = device;
        this.wasEnabled = torch.is_autocast_enabled(device);
        this.wasType = torch.get_autocast_dtype(device);
        this.wasCache = torch.is_autocast_cache_enabled();
        torch.set_autocast_dtype(device, dtype);
        torch.set_autocast_cache_enabled(false);
        torch.set_autocast_enabled(device, true);
    }

    /** A bfloat16 autocast scope for the forward passes on {@code device} ("cpu", "cuda", "cuda:1"). */
    public static Autocast bf16(String device) {
        return new Autocast(type(device), torch.ScalarType.BFloat16);
    }

    /**
     * A float16 autocast scope for the forward passes on {@code device}. float16 overflows above 65504, so its
     * gradients need loss scaling (the trainer's {@code training.precision: fp16} does that).
     */
    public static Autocast fp16(String device) {
        return new Autocast(type(device), torch.ScalarType.Half);
    }

    /** Whether autocast is on for {@code device} on this thread. */
    public static boolean active(String device) {
        return torch.is_autocast_enabled(type(device));
    }

    /** The autocast device type of a config's device name ("cpu", "cuda", "cuda:1"). */
    private static torch.DeviceType type(String device) {
        return isCuda(device) ? torch.DeviceType.CUDA : torch.DeviceType.CPU;
    }

    private static boolean isCuda(String device) {
        return device.toLowerCase(Locale.ROOT).startsWith("cuda");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        torch.set_autocast_enabled(device, wasEnabled);
        torch.set_autocast_dtype(device, wasType);
        torch.set_autocast_cache_enabled(wasCache);
    }

    /**
     * Whether this CPU does bfloat16 arithmetic in hardware (the AVX512_BF16 or AMX-BF16 flags of /proc/cpuinfo):
     * without them libtorch emulates bfloat16 products, slower than float32.
     */
    public static boolean cpuHasBf16() {
        return CpuFlags.BF16;
    }

    /**
     * Whether a run asking for bfloat16 on {@code device} gets it: CUDA devices do; a CPU without hardware bfloat16
     * does not, and the first such call in a process prints a notice saying the run uses float32.
     */
    public static boolean bf16Available(String device) {
        if (isCuda(device) || cpuHasBf16()) {
            return true;
        }
        if (NOTICE.compareAndSet(false, true)) {
            System.err.println("incontext: precision bf16 asked for, but this CPU has no hardware bfloat16 "
                    + "(no avx512_bf16 or amx_bf16 flag): running float32");
        }
        return false;
    }

    /** Whether this CPU does float16 arithmetic in hardware (the AVX512_FP16 or AMX-FP16 flags of /proc/cpuinfo). */
    public static boolean cpuHasFp16() {
        return CpuFlags.FP16;
    }

    /**
     * Notes, once per process, that float16 on this device is for checking a configuration rather than for speed:
     * CUDA devices have float16 arithmetic; a CPU without AVX512_FP16 or AMX-FP16 has libtorch emulate it, several
     * times slower than float32. The run goes on in float16 either way (unlike bf16, which falls back to float32),
     * so that a config meant for a GPU can be tried on a laptop with the same arithmetic and loss scaling.
     */
    public static void noteFp16(String device) {
        if (!isCuda(device) && !cpuHasFp16() && FP16_NOTICE.compareAndSet(false, true)) {
            System.err.println("incontext: precision fp16 on a CPU without hardware float16 (no avx512_fp16 or "
                    + "amx_fp16 flag): libtorch emulates float16 products, several times slower than float32; fp16 "
                    + "with loss scaling is meant for CUDA (use bf16 or float32 on this CPU)");
        }
    }

    private static final class CpuFlags {
        static final String FLAGS = read();
        static final boolean BF16 = FLAGS.contains(" avx512_bf16 ") || FLAGS.contains(" amx_bf16 ");
        static final boolean FP16 = FLAGS.contains(" avx512_fp16 ") || FLAGS.contains(" amx_fp16 ");

        /** The first flags line of /proc/cpuinfo with a space at each end, or "" when there is none. */
        private static String read() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                    if (line.startsWith("flags")) {
                        return " " + line.substring(line.indexOf(':') + 1) + " ";
                    }
                }
            } catch (IOException | RuntimeException e) {
                return "";
            }
            return "";
        }
    }
}

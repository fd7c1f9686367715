package dev.incontext.ops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.pytorch.global.torch;

/**
 * Mixed precision through libtorch's autocast: inside a scope, the matrix products (linear, matmul, bmm, addmm) run
 * in bfloat16 with float32 accumulation while the parameters, their gradients and everything outside the
 * autocast lists stay float32; the project's attention and rope ops take the bfloat16 activations too. Autocast's
 * cache of casted weights is switched off inside the scope, so a weight the optimiser has just updated is never read
 * from a stale bfloat16 copy (libtorch keeps that cache per thread until cleared).
 *
 * <p>Autocast state is per thread, as in libtorch: open and close a scope on the thread that runs the forward pass.
 * Scopes restore the state they found, so they nest.
 */
public final class Autocast implements AutoCloseable {
    private static final AtomicBoolean NOTICE = new AtomicBoolean();

    private final torch.DeviceType device;
    private final boolean wasEnabled;
    private final torch.ScalarType wasType;
    private final boolean wasCache;
    private boolean closed;

    private Autocast(torch.DeviceType device) {
        this.device = device;
        this.wasEnabled = torch.is_autocast_enabled(device);
        this.wasType = torch.get_autocast_dtype(device);
        this.wasCache = torch.is_autocast_cache_enabled();
        torch.set_autocast_dtype(device, torch.ScalarType.BFloat16);
        torch.set_autocast_cache_enabled(false);
        torch.set_autocast_enabled(device, true);
    }

    /** A bfloat16 autocast scope for the forward passes on {@code device} ("cpu", "cuda", "cuda:1"). */
    public static Autocast bf16(String device) {
        return new Autocast(type(device));
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

    private static final class CpuFlags {
        static final boolean BF16 = read();

        private static boolean read() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                    if (line.startsWith("flags")) {
                        String flags = " " + line.substring(line.indexOf(':') + 1) + " ";
                        return flags.contains(" avx512_bf16 ") || flags.contains(" amx_bf16 ");
                    }
                }
            } catch (IOException | RuntimeException e) {
                return false;
            }
            return false;
        }
    }
}

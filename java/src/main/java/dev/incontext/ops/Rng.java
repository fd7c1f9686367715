package dev.incontext.ops;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Explicit random generators. Every draw in the project goes through one, never through the process-global
 * generator, so runs side by side in one JVM stay reproducible. Seeds for a training step are a pure function of
 * (run seed, stream, step): resuming at any step draws exactly what an uninterrupted run would have drawn.
 */
public final class Rng {
    private Rng() {}

    /** Distinct streams of randomness derived from one run seed. */
    public enum Stream { DATA, INIT, POOL, EVAL, INPUT_TRANSFORM }

    /** SplitMix64 finaliser: decorrelates nearby seeds. */
    public static long mix(long x) {
        x += 0x9E3779B97F4A7C15L;
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }

    public static long derive(long seed, Stream stream, long index) {
        return mix(mix(seed ^ mix(stream.ordinal() + 1L)) + index) & Long.MAX_VALUE;
    }

    public static Generator cpu(long seed) {
        return torch.createCPUGenerator(seed);
    }

    /** A generator on the device of {@code options} (CPU, or CUDA through the native library). */
    public static Generator on(TensorOptions options, long seed) {
        Device d = options.device();
        if (d.is_cpu()) {
            return cpu(seed);
        }
        return Ops.makeGenerator(d.str().getString(), seed);
    }

    public static GeneratorOptional opt(Generator g) {
        return new GeneratorOptional(g);
    }
}

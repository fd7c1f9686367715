package dev.incontext.ops;

import java.util.Locale;

/**
 * Whether memory that libtorch frees stays in the process's C heap for its next allocations. libtorch's CPU tensors
 * come from malloc; glibc maps large blocks afresh and returns freed ones to the system eagerly, so a training loop,
 * which frees and reallocates the same activations every step, pays a page fault for every 4 KiB page of them every
 * step (about 14,000 a step for the small GPT-2 preset; 200-300 with the default here). With {@code retain}, the
 * default, the heap keeps them: blocks up to 32 MiB come from the heap and freed memory is not trimmed, so a steady
 * loop stops faulting, and the process holds its peak heap until it exits. {@code -Dincontext.malloc=system} (with
 * the launcher: {@code INCONTEXT_MALLOC=system}) leaves the C library's defaults, e.g. for a long-lived service that
 * trains rarely. Applied once, when {@link NativeLibrary#load()} first loads the ops; only glibc is tuned (elsewhere
 * the policy reads {@code system}). Measured in benchmarks/results/train-step-cpu.md.
 */
public final class Memory {
    /** The system property: {@code retain} (default) or {@code system}. */
    public static final String PROPERTY = "incontext.malloc";

    private static volatile String policy = "system";

    private Memory() {}

    /** Applies {@link #PROPERTY}; called by {@link NativeLibrary#load()} with the ops loaded. */
    static void configure() {
        String wanted = System.getProperty(PROPERTY, "retain").trim().toLowerCase(Locale.ROOT);
        if (!wanted.equals("retain") && !wanted.equals("system")) {
            throw new IllegalArgumentException(PROPERTY + " must be retain or system, got '" + wanted + "'");
        }
        if (wanted.equals("retain") && NativeOps.retain_freed_memory()) {
            policy = "retain";
        }
    }

    /**
     * {@code retain} when freed memory stays in this process's heap, {@code system} when the C library's defaults
     * apply (asked for, or a C library other than glibc). Loads the native library.
     */
    public static String policy() {
        NativeLibrary.load();
        return policy;
    }

    /** Minor page faults of this process so far (pages the kernel mapped in on first touch), or -1 if unknown. */
    public static long minorPageFaults() {
        NativeLibrary.load();
        return NativeOps.minor_page_faults();
    }
}

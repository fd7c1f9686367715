package dev.incontext.ops;

/**
 * Fresh seeds for randomised tests, printed, and named in the message of any failure of the test class (through
 * {@link SeedOnFailure}), so that a failure can be repeated: INCONTEXT_SEED fixes the seed.
 */
final class TestSeeds {
    private static final java.util.Map<Class<?>, Long> LAST = new java.util.concurrent.ConcurrentHashMap<>();

    private TestSeeds() {}

    /** The seed a test class drew last, or null. */
    static Long last(Class<?> test) {
        return LAST.get(test);
    }

    static long fresh(Class<?> test) {
        String fixed = System.getenv("INCONTEXT_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : Math.floorMod(System.nanoTime(), 1_000_000_007L);
        System.out.println(test.getSimpleName() + ": seed " + seed + " (set INCONTEXT_SEED to repeat)");
        LAST.put(test, seed);
        return seed;
    }
}

package dev.incontext.ops;

/** Fresh seeds for randomised tests, printed so that a failure can be repeated (INCONTEXT_SEED fixes it). */
final class TestSeeds {
    private TestSeeds() {}

    static long fresh(Class<?> test) {
        String fixed = System.getenv("INCONTEXT_SEED");
        long seed = fixed != null ? Long.parseLong(fixed) : Math.floorMod(System.nanoTime(), 1_000_000_007L);
        System.out.println(test.getSimpleName() + ": seed " + seed + " (set INCONTEXT_SEED to repeat)");
        return seed;
    }
}

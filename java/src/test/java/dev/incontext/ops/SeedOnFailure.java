package dev.incontext.ops;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/** Puts the seed a randomised test drew ({@link TestSeeds}) into the message of its failure. */
final class SeedOnFailure implements TestExecutionExceptionHandler {
    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        Long seed = TestSeeds.last(context.getRequiredTestClass());
        if (seed == null) {
            throw failure;
        }
        AssertionError e = new AssertionError("[seed " + seed + "; INCONTEXT_SEED=" + seed + " repeats this draw] "
                + failure.getMessage(), failure);
        e.setStackTrace(failure.getStackTrace());
        throw e;
    }
}

package dev.incontext.eval;

import java.util.List;

/**
 * Everything one suite evaluation produced: an {@link Evaluation} per setting that applies, the settings that do
 * not (with why), agreement curves between the model and the baselines, and provenance.
 */
public record SuiteResult(String suite, List<Evaluation> evaluations, List<Skipped> skipped,
        List<Agreement> agreements, Provenance provenance) {
    public SuiteResult {
        evaluations = List.copyOf(evaluations);
        skipped = List.copyOf(skipped);
        agreements = List.copyOf(agreements);
    }

    /** A setting of the suite that was not evaluated, and why. */
    public record Skipped(String setting, String reason) {}
}

package dev.incontext.experiments;

import java.io.IOException;

/**
 * A named, reproducible experiment: config -> runs -> evaluations -> report. The CLI's {@code incontext experiment
 * NAME} and {@code incontext demo} only parse and print; what is trained, which baselines and settings, and what
 * counts as success live in the experiment, callable from Java the same way.
 */
public interface Experiment {
    /** The name {@code incontext experiment} takes, e.g. {@code he-modular}. */
    String id();

    /** One line for {@code --help}. */
    String description();

    /** Runs the experiment end to end and writes its report. */
    ExperimentReport run(ExperimentContext context) throws IOException;
}

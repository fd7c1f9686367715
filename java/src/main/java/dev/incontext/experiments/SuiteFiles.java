package dev.incontext.experiments;

import dev.incontext.config.RunConfig;
import dev.incontext.eval.Evaluation;
import dev.incontext.report.Reports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Where an experiment's evaluation files go and what they are called. */
final class SuiteFiles {
    private SuiteFiles() {}

    /** eval.csv, eval.json and eval.png of one evaluation in {@code dir}. */
    static List<Path> writeEvaluation(Evaluation e, RunConfig c, Path dir) throws IOException {
        Files.createDirectories(dir);
        Reports.csv(e, dir.resolve("eval.csv"));
        Reports.json(e, dir.resolve("eval.json"));
        Reports.plot(e, c.task().name().name().toLowerCase(Locale.ROOT) + ", d = " + c.task().nDims() + " ("
                + e.setting() + ")", e.metric().trivial(), dir.resolve("eval.png"));
        return List.of(dir.resolve("eval.csv"), dir.resolve("eval.json"), dir.resolve("eval.png"));
    }
}

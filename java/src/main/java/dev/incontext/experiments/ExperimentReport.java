package dev.incontext.experiments;

import java.nio.file.Path;
import java.util.List;

/**
 * What an experiment wrote: its Markdown summary (the paper's claims beside the numbers measured), every other
 * file, and whether the experiment's own success criteria were met, in words.
 */
public record ExperimentReport(Path summary, List<Path> files, boolean targetsMet, String verdict) {
    public ExperimentReport {
        files = List.copyOf(files);
    }
}

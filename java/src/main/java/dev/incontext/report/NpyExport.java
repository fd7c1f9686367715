package dev.incontext.report;

import dev.incontext.util.AtomicFiles;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.Metric;
import dev.incontext.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code --export DIR}: one setting's prompts and every predictor's predictions as NumPy arrays, with a manifest that
 * says what each file holds and how eval.csv's numbers follow from them, so anyone can recompute (or re-score) the
 * evaluation in Python without this library.
 *
 * <p>Files: {@code xs.npy} (B, n, d), {@code ys.npy} (B, n), {@code targets.npy} (B, n) only when the scored labels
 * differ from ys (separate queries), {@code queries.npy} (B, n, d) when the setting draws them,
 * {@code pred_<slug>.npy} (B, n) per predictor, a copy of {@code eval.csv}, and {@code manifest.json}. The slug of a
 * predictor's name is its lowercase ASCII letters and digits with every other run of characters turned into one
 * {@code _} (trimmed at the ends), made unique with {@code _2}, {@code _3}, ...; the manifest names each file.
 */
public final class NpyExport {
    /** The rule every prediction follows, stated in the manifest. */
    public static final String CONVENTION = "the prediction at position k uses points < k (and the query at k)";

    private NpyExport() {}

    /**
     * Writes the export of {@code evaluation} into {@code dir} (created when missing) and returns the manifest's path.
     * {@code predictorSettings} maps a predictor's name to how it was made (a baseline spec such as {@code knn:3},
     * or the model's checkpoint); a predictor without an entry is listed with an empty string.
     *
     * @throws IllegalArgumentException when nothing was captured, or the captured arrays do not match each other or
     *     the evaluation (naming which)
     */
    /**
     * Refuses, before any work, an export target that is a file, or a directory that already holds files (which
     * would mix an earlier export's predictions with this one's) unless {@code overwrite}.
     */
    public static void checkTarget(Path target, boolean overwrite) throws IOException {
        if (Files.exists(target) && !Files.isDirectory(target)) {
            throw new IllegalArgumentException("export target " + target + " is a file, not a directory");
        }
        if (!overwrite && Files.isDirectory(target)) {
            try (var entries = Files.list(target)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException("export target " + target + " is not empty: choose an empty "
                            + "or new folder, or pass --overwrite to replace what is there");
                }
            }
        }
    }

    /** Deletes everything inside an export target (kept itself), so that no earlier file stays beside new ones. */
    public static void clearTarget(Path target) throws IOException {
        if (!Files.isDirectory(target)) {
            return;
        }
        try (var paths = Files.walk(target)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(target)) {
                    Files.delete(p);
                }
            }
        }
    }

    public static Path write(Path dir, Evaluator.Captured captured, Evaluation evaluation,
            Map<String, String> predictorSettings) throws IOException {
        if (captured == null) {
            throw new IllegalArgumentException("nothing to export for setting " + evaluation.setting()
                    + ": evaluate with Request(capture = true)");
        }
        long b = captured.prompts();
        long n = captured.points();
        long d = captured.dims();
        check("xs", captured.xs(), b * n * d, "B * n * d", evaluation);
        check("ys", captured.ys(), b * n, "B * n", evaluation);
        check("targets", captured.targets(), b * n, "B * n", evaluation);
        if (captured.queries() != null) {
            check("queries", captured.queries(), b * n * d, "B * n * d", evaluation);
        }
        if (evaluation.prompts() != b) {
            throw new IllegalArgumentException("export of " + evaluation.setting() + ": the evaluation scored "
                    + evaluation.prompts() + " prompts but " + b + " were captured");
        }
        if (evaluation.points() > n) {
            throw new IllegalArgumentException("export of " + evaluation.setting() + ": the evaluation scores "
                    + evaluation.points() + " positions but prompts of " + n + " points were captured");
        }
        // the evaluation's order first, then anything else that was captured
        Map<String, double[]> predictions = new LinkedHashMap<>();
        for (Evaluation.Curve c : evaluation.curves()) {
            double[] p = captured.predictions().get(c.predictor());
            if (p == null) {
                throw new IllegalArgumentException("export of " + evaluation.setting() + ": no captured predictions of "
                        + c.predictor() + "; captured: " + captured.predictions().keySet());
            }
            predictions.put(c.predictor(), p);
        }
        captured.predictions().forEach(predictions::putIfAbsent);
        for (Map.Entry<String, double[]> p : predictions.entrySet()) {
            check("predictions of " + p.getKey(), p.getValue(), b * n, "B * n", evaluation);
        }

        Files.createDirectories(dir);
        Npy.write(dir.resolve("xs.npy"), captured.xs(), b, n, d);
        Npy.write(dir.resolve("ys.npy"), captured.ys(), b, n);
        boolean separateTargets = !Arrays.equals(captured.ys(), captured.targets());
        if (separateTargets) {
            Npy.write(dir.resolve("targets.npy"), captured.targets(), b, n);
        }
        if (captured.queries() != null) {
            Npy.write(dir.resolve("queries.npy"), captured.queries(), b, n, d);
        }
        Set<String> used = new HashSet<>();
        Set<String> inEvaluation = new HashSet<>();
        evaluation.curves().forEach(c -> inEvaluation.add(c.predictor()));
        List<Object> entries = new ArrayList<>();
        for (Map.Entry<String, double[]> p : predictions.entrySet()) {
            String file = "pred_" + unique(slug(p.getKey()), used) + ".npy";
            Npy.write(dir.resolve(file), p.getValue(), b, n);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("name", p.getKey());
            entry.put("file", file);
            entry.put("settings", predictorSettings.getOrDefault(p.getKey(), ""));
            entry.put("in_eval_csv", inEvaluation.contains(p.getKey()));
            entries.add(entry);
        }
        Reports.csv(evaluation, dir.resolve("eval.csv"));

        Path manifest = dir.resolve("manifest.json");
        AtomicFiles.write(manifest, manifest(captured, evaluation, separateTargets, entries));
        return manifest;
    }

    private static String manifest(Evaluator.Captured c, Evaluation e, boolean separateTargets, List<Object> entries) {
        long b = c.prompts();
        long n = c.points();
        long d = c.dims();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "incontext evaluation export 1: float64 NPY 1.0 arrays, C order");
        m.put("setting", e.setting());
        m.put("description", e.description());
        m.put("prompts", b);
        m.put("points", n);
        m.put("dims", d);
        m.put("scored_positions", e.points());
        m.put("convention", CONVENTION + ": index b is the prompt, k the position "
                + "(0-based), i the input coordinate; the prediction pred[b, k] sees the pairs (xs[b, j], ys[b, j]) "
                + "for j < k and the query at k, which is "
                + (c.queries() == null ? "xs[b, k] (this setting has no separate queries)" : "queries[b, k]")
                + ", and is scored against targets[b, k]. Positions k >= scored_positions are not scored (the setting "
                + "is undefined there); their predictions are exported as computed.");
        Map<String, Object> arrays = new LinkedHashMap<>();
        arrays.put("xs", array("xs.npy", new long[] {b, n, d}, "prompt inputs x"));
        arrays.put("ys", array("ys.npy", new long[] {b, n}, "prompt labels y (what the predictors see)"));
        arrays.put("targets", array(separateTargets ? "targets.npy" : "ys.npy", new long[] {b, n},
                separateTargets ? "labels of the queries: what each position is scored against"
                        : "the scored labels are the prompt's own ys"));
        arrays.put("queries", c.queries() == null ? null : array("queries.npy", new long[] {b, n, d},
                "the query of each position, drawn apart from the prompt"));
        m.put("arrays", arrays);
        Map<String, Object> metric = new LinkedHashMap<>();
        metric.put("label", e.metric().label());
        metric.put("formula", e.metric().formula());
        metric.put("trivial", e.metric().trivial());
        metric.put("lower_is_better", e.metric().lowerIsBetter());
        m.put("metric", metric);
        m.put("normaliser", e.normaliser());
        m.put("normaliser_meaning", "E[y_q^2] of the setting's targets; squared errors are divided by it");
        m.put("score", "score[b, k] = " + score(e.metric()));
        m.put("recompute", "eval.csv's mean at k = the mean over prompts b of score[b, k], for "
                + "k < scored_positions; its ci_low and ci_high are the 5th and 95th percentiles of 1000 bootstrap "
                + "means, resampling " + (e.bootstrapUnit() == 1 ? "whole prompts" : "whole runs of "
                + e.bootstrapUnit() + " consecutive prompts (an evaluation batch sharing one draw)") + " (seeded "
                + "resampling, so they are reproduced in distribution, not digit for digit)");
        m.put("bootstrap_unit_prompts", e.bootstrapUnit());
        m.put("python", List.of(
                "# run in this directory: prints every predictor's mean score per k, eval.csv's means",
                "import json, numpy as np",
                "m = json.load(open('manifest.json'))",
                "targets = np.load(m['arrays']['targets']['file'])",
                "for p in m['predictors']:",
                "    pred = np.load(p['file'])",
                "    score = " + python(e.metric()),
                "    print(p['name'], score[:, :m['scored_positions']].mean(axis=0))"));
        m.put("predictors", entries);
        return Json.pretty(m);
    }

    private static String score(Metric m) {
        return m instanceof Metric.Accuracy ? "1 if sign(pred[b, k]) == targets[b, k] else 0"
                : "(pred[b, k] - targets[b, k])^2 / normaliser";
    }

    private static String python(Metric m) {
        return m instanceof Metric.Accuracy ? "(np.sign(pred) == targets).astype(float)"
                : "(pred - targets) ** 2 / m['normaliser']";
    }

    private static Map<String, Object> array(String file, long[] shape, String meaning) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("file", file);
        a.put("shape", shape);
        a.put("meaning", meaning);
        return a;
    }

    private static void check(String what, double[] a, long expected, String formula, Evaluation e) {
        if (a == null || a.length != expected) {
            throw new IllegalArgumentException("export of " + e.setting() + ": captured " + what + " has "
                    + (a == null ? "no values" : a.length + " values") + ", expected " + formula + " = " + expected);
        }
    }

    /**
     * A file-name slug: lowercase ASCII letters and digits, every other run of characters one underscore, none at the
     * ends; {@code predictor} when nothing is left.
     */
    static String slug(String name) {
        StringBuilder s = new StringBuilder();
        for (char ch : name.toLowerCase(Locale.ROOT).toCharArray()) {
            boolean keep = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
            if (keep) {
                s.append(ch);
            } else if (s.length() > 0 && s.charAt(s.length() - 1) != '_') {
                s.append('_');
            }
        }
        while (s.length() > 0 && s.charAt(s.length() - 1) == '_') {
            s.setLength(s.length() - 1);
        }
        return s.length() == 0 ? "predictor" : s.toString();
    }

    /** {@code base}, or base_2, base_3, ... when taken; records the choice in {@code used}. */
    static String unique(String base, Set<String> used) {
        String s = base;
        for (int i = 2; !used.add(s); i++) {
            s = base + "_" + i;
        }
        return s;
    }
}

package dev.incontext.experiments;

import com.fasterxml.jackson.databind.JsonNode;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.config.RunKind;
import dev.incontext.config.RunSpec;
import dev.incontext.eval.ZpReference;
import dev.incontext.model.RopeDecoder;
import dev.incontext.ops.Rng;
import dev.incontext.report.ModularPlots;
import dev.incontext.sweep.CellResults;
import dev.incontext.sweep.CellTraining;
import dev.incontext.sweep.RunJob;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.sweep.Sweeps;
import dev.incontext.tasks.ModularSampler;
import dev.incontext.tasks.ModularSampler.Split;
import dev.incontext.tasks.ModularTasks;
import dev.incontext.tasks.TokenBatch;
import dev.incontext.train.TokenObjective;
import dev.incontext.util.AtomicFiles;
import dev.incontext.util.Devices;
import dev.incontext.util.Json;
import dev.incontext.util.Tensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * He et al. 2024's experiment (papers.md §3): trains the phase diagram's grid (pre-training tasks x depth x alpha),
 * one run per cell under {@code out_dir/cells/}, and reports the o.o.d. accuracy on held-out pairs at the last shot
 * as a heatmap, the accuracy per shot of the smallest and largest task counts against the Z_p Bayes-optimal and exact
 * solver lines, an attention map, and a Markdown summary stating the paper's claim beside the measurement.
 *
 * <p>The grid runs through the sweep runner ({@link Sweeps}): one cell after another in this JVM on the master
 * {@code serial}, or as Spark tasks ({@code local[N]}, a cluster's URL). A finished cell leaves {@code result.json}
 * and its sweep record {@code cell.yaml}; running the experiment again skips those cells, and an unfinished one
 * continues from its newest checkpoint (every {@code training.save_every} steps). A cell's config is its own point of the
 * phase diagram, so cells already trained are skipped when the grid grows.
 */
public final class HeModular {
    /** What the user asked for: the config and where to write. */
    private final ModularConfig config;
    private final Consumer<String> log;

    public HeModular(ModularConfig config, Consumer<String> log) {
        this.config = config;
        this.log = log;
    }

    /**
     * One finished cell. acc: per split, accuracy at every shot; plateauExit: the step at which it left the ln p
     * plateau ({@link PlateauScaling#exit}), -1 if it did not by its last step.
     */
    public record Cell(int nTasksPl, int nId, int nLayer, double alpha, int batch, int width, long steps,
            long plateauExit, double stepsPerSecond, Map<Split, double[]> acc, Map<Split, Double> loss) {
        public double last(Split s) {
            double[] a = acc.get(s);
            return a[a.length - 1];
        }
    }

    /** The experiment's outcome: every cell, and the files written. */
    public record Report(List<Cell> cells, Path summary, Path heatmap, List<Path> curves) {}

    /**
     * Runs (or resumes) the grid on a sweep master ({@code serial}, {@code local[N]} or a Spark master URL) and
     * writes the report files into out_dir.
     */
    public Report run(String master) throws IOException {
        Path out = Path.of(config.outDir());
        Files.createDirectories(out.resolve("cells"));
        AtomicFiles.write(out.resolve("config.yaml"), ConfigLoader.toYaml(config));
        SweepPlan plan = plan(config);
        log.accept("he-modular: " + plan.cells().size() + " cells, master " + master);
        SweepOutcome outcome = Grids.train(plan, master, log);
        List<Cell> done = new ArrayList<>();
        for (dev.incontext.sweep.Cell c : plan.cells()) {
            Grids.finished(plan, outcome, c);
            done.add(readCell(plan.outDir().resolve(c.name()).resolve("result.json")));
        }
        List<Cell> diagram = diagramCells(done, config);
        Path heatmap = writePhaseDiagram(diagram, out);
        List<Path> curves = new ArrayList<>();
        Cell fewest = diagram.get(0);
        Cell most = diagram.get(0);
        for (Cell c : diagram) {
            fewest = c.nId < fewest.nId ? c : fewest;
            most = c.nId > most.nId ? c : most;
        }
        for (Cell c : fewest == most ? List.of(most) : List.of(fewest, most)) {
            curves.add(writeCurves(c, out));
        }
        Path summary = writeSummary(done, fewest, most, out);
        return new Report(done, summary, heatmap, curves);
    }

    /**
     * The cells of the phase diagram proper (heatmap, claims, accuracy per shot): with the scaling study's axes, those
     * at the config's own batch size and width, or, when the axes leave those out, at the first cell's.
     */
    static List<Cell> diagramCells(List<Cell> cells, ModularConfig config) {
        int batch = config.training().batchSize();
        int width = config.model().nEmbd();
        if (cells.stream().noneMatch(c -> c.batch == batch && c.width == width)) {
            return cells.stream().filter(c -> c.batch == cells.get(0).batch && c.width == cells.get(0).width).toList();
        }
        return cells.stream().filter(c -> c.batch == batch && c.width == width).toList();
    }

    static String cellName(int nTasksPl, int layers, double alpha) {
        return String.format(Locale.ROOT, "pl%03d-L%d-a%.2f", nTasksPl, layers, alpha);
    }

    /** A cell's name; with the scaling study's axes (batch or width given) it ends in its batch and width. */
    static String cellName(int nTasksPl, int layers, double alpha, Integer batch, Integer width) {
        String base = cellName(nTasksPl, layers, alpha);
        return batch == null && width == null ? base : String.format(Locale.ROOT, "%s-b%d-w%d", base,
                batch, width);
    }

    /** The sweep's axes, depth slowest and task count fastest (the order of the grid's rows in the report). */
    private static final List<String> AXES = List.of("model.n_layer", "task.alpha", "task.n_tasks_pl");
    /** The scaling study's axes, when given, after those. */
    private static final List<String> SCALING_AXES = List.of("training.batch_size", "model.n_embd");

    /**
     * The grid as a sweep plan: one cell per point of the phase diagram, named as {@link #cellName}, in
     * {@code out_dir/cells/}. The base is the config's own single point, so that a cell's identity (the base and
     * its values) does not depend on the rest of the grid.
     */
    static SweepPlan plan(ModularConfig config) {
        Path dir = Path.of(config.outDir()).resolve("cells");
        ModularConfig base = config.cell(config.task().nTasksPl(), config.model().nLayer(), config.task().alpha(),
                config.outDir());
        List<Integer> depths = config.phaseDiagram().nLayer().stream().distinct().toList();
        List<Double> alphas = config.phaseDiagram().alpha().stream().distinct().toList();
        List<Integer> counts = config.phaseDiagram().nTasksPl().stream().distinct().toList();
        boolean scaling = !config.phaseDiagram().batchSize().isEmpty() || !config.phaseDiagram().nEmbd().isEmpty();
        List<Integer> batches = config.phaseDiagram().batchSize().isEmpty() ? List.of(config.training().batchSize())
                : config.phaseDiagram().batchSize().stream().distinct().toList();
        List<Integer> widths = config.phaseDiagram().nEmbd().isEmpty() ? List.of(config.model().nEmbd())
                : config.phaseDiagram().nEmbd().stream().distinct().toList();
        List<String> keys = new ArrayList<>(AXES);
        if (scaling) {
            keys.addAll(SCALING_AXES);
        }
        List<dev.incontext.sweep.Cell> cells = new ArrayList<>();
        for (int layers : depths) {
            for (double alpha : alphas) {
                for (int n : counts) {
                    for (int b : batches) {
                        for (int w : widths) {
                            List<String> values = new ArrayList<>(List.of(Integer.toString(layers),
                                    Double.toString(alpha), Integer.toString(n)));
                            if (scaling) {
                                values.addAll(List.of(Integer.toString(b), Integer.toString(w)));
                            }
                            cells.add(new dev.incontext.sweep.Cell(cells.size(), scaling ? cellName(n, layers, alpha,
                                    b, w) : cellName(n, layers, alpha), keys, values));
                        }
                    }
                }
            }
        }
        // The spec names the axes for results.csv; the cells come from the resolved config above, not from its base.
        List<SweepSpec.Axis> axes = new ArrayList<>(List.of(
                new SweepSpec.Axis(AXES.get(0), depths.stream().map(String::valueOf).toList()),
                new SweepSpec.Axis(AXES.get(1), alphas.stream().map(String::valueOf).toList()),
                new SweepSpec.Axis(AXES.get(2), counts.stream().map(String::valueOf).toList())));
        if (scaling) {
            axes.add(new SweepSpec.Axis(SCALING_AXES.get(0), batches.stream().map(String::valueOf).toList()));
            axes.add(new SweepSpec.Axis(SCALING_AXES.get(1), widths.stream().map(String::valueOf).toList()));
        }
        SweepSpec spec = new SweepSpec(RunKind.TOKENS.defaults(), List.of(), axes, SweepSpec.Mode.CROSS,
                0, dir.toString(), false, "final_loss");
        return new SweepPlan(spec, ConfigLoader.toYaml(base), cells, dir, new RunJob(new CellOutputs()));
    }

    /**
     * What a he-modular cell adds to the one sweep job: its config is its own point of the phase diagram; after
     * training it writes its attention map, its metrics.tsv (the reference's columns, from metrics.jsonl) and
     * {@code result.json}, the file the report reads and whose presence makes the cell complete. Metrics for
     * results.csv: the loss and last-shot accuracy of every set, steps/s.
     */
    static final class CellOutputs implements CellResults {
        private static final long serialVersionUID = 1L;

        @Override
        public RunKind kind() {
            return RunKind.TOKENS;
        }

        @Override
        public RunSpec configure(RunSpec config) {
            ModularConfig c = (ModularConfig) config;
            return c.cell(c.task().nTasksPl(), c.model().nLayer(), c.task().alpha(), c.outDir());
        }

        @Override
        public boolean complete(RunSpec config, Path dir) {
            return Files.exists(dir.resolve("result.json"));
        }

        @Override
        public void started(RunSpec config, Path dir, Consumer<String> notices) throws IOException {
            ModularConfig cell = (ModularConfig) config;
            Files.deleteIfExists(dir.resolve("result.json"));   // what the report reads is this run's, or nothing
            notices.accept(String.format(Locale.ROOT, "%d pre-training tasks, depth %d, alpha %.2f",
                    cell.task().idTasks(), cell.model().nLayer(), cell.task().alpha()));
        }

        @Override
        public LinkedHashMap<String, Double> finished(RunSpec config, CellTraining.Result r, Path dir,
                double trainSeconds, boolean evaluate) throws IOException {
            ModularConfig cell = (ModularConfig) config;
            try (PointerScope scope = new PointerScope()) {
                TokenObjective objective = (TokenObjective) r.outcome().objective();
                // The last evaluation, as recorded: also there when this execution had nothing left to train.
                List<JsonNode> records = records(dir.resolve("metrics.jsonl"));
                Cell c = lastEvaluation(records, cell, objective.tasks().idTasks().size());
                writeAttentionMap(cell, objective, dir);
                exportTsv(records, dir.resolve("metrics.tsv"));
                AtomicFiles.write(dir.resolve("result.json"), Json.pretty(toJson(c)));
                LinkedHashMap<String, Double> metrics = new LinkedHashMap<>();
                metrics.put("train_seconds", trainSeconds);
                metrics.put("steps_per_s", c.stepsPerSecond());
                for (Split sp : Split.values()) {
                    metrics.put(sp.column + "_loss", c.loss.get(sp));
                    metrics.put(sp.column + "_acc_last", c.last(sp));
                }
                return metrics;
            }
        }
    }

    /** A run's metrics.jsonl, one parsed record per line. */
    static List<JsonNode> records(Path metricsJsonl) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(metricsJsonl, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                out.add(Json.parse(line));
            }
        }
        return out;
    }

    /**
     * A cell's results from the last evaluation record of its metrics.jsonl, with the mean training rate over the
     * records that give one and the step at which the i.d.-training loss left the ln p plateau.
     */
    static Cell lastEvaluation(List<JsonNode> records, ModularConfig cell, int nId) {
        JsonNode last = null;
        double rateSum = 0;
        int rates = 0;
        List<Long> evalSteps = new ArrayList<>();
        List<Double> evalLoss = new ArrayList<>();
        for (JsonNode r : records) {
            if (Double.isFinite(Json.number(r.get("steps_per_s")))) {
                rateSum += Json.number(r.get("steps_per_s"));
                rates++;
            }
            if (r.has(Split.ID_TRAIN.column)) {
                last = r;
                evalSteps.add(r.get("step").asLong());
                evalLoss.add(Json.number(r.get(Split.ID_TRAIN.column).get("loss")));
            }
        }
        if (last == null) {
            throw new IllegalStateException("metrics.jsonl holds no evaluation record");
        }
        Map<Split, double[]> acc = new LinkedHashMap<>();
        Map<Split, Double> loss = new LinkedHashMap<>();
        for (Split sp : Split.values()) {
            JsonNode part = last.get(sp.column);
            acc.put(sp, doubles(part.get("acc_per_shot")));
            loss.put(sp, Json.number(part.get("loss")));
        }
        long exit = PlateauScaling.exit(evalSteps.stream().mapToLong(Long::longValue).toArray(),
                evalLoss.stream().mapToDouble(Double::doubleValue).toArray(), cell.task().p());
        return new Cell(cell.task().nTasksPl(), nId, cell.model().nLayer(), cell.task().alpha(),
                cell.training().batchSize(), cell.model().nEmbd(), cell.training().steps(), exit,
                rates > 0 ? rateSum / rates : Double.NaN, acc, loss);
    }

    private static double[] doubles(JsonNode a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = Json.number(a.get(i));
        }
        return v;
    }

    /**
     * The evaluation records of a run's metrics.jsonl in the reference's TSV columns (step, then loss, mean accuracy
     * over shots and last-shot accuracy of each set), for tools that read the reference's files.
     */
    static void exportTsv(List<JsonNode> records, Path tsv) throws IOException {
        StringBuilder s = new StringBuilder("step");
        for (Split sp : Split.values()) {
            s.append('\t').append(sp.column).append("_loss\t").append(sp.column).append("_acc\t").append(sp.column)
                    .append("_acc_last");
        }
        s.append('\n');
        for (JsonNode r : records) {
            if (!r.has(Split.ID_TRAIN.column)) {
                continue;   // a record without an evaluation
            }
            s.append(r.get("step").asLong());
            for (Split sp : Split.values()) {
                JsonNode e = r.get(sp.column);
                s.append(String.format(Locale.ROOT, "\t%.6f\t%.6f\t%.6f", Json.number(e.get("loss")),
                        Json.number(e.get("acc")), Json.number(e.get("acc_last"))));   // NaN, never 0, for a null
            }
            s.append('\n');
        }
        AtomicFiles.write(tsv, s);
    }

    /** Layer 0, head 0 on one o.o.d. held-out row, as the reference's attn_map does for its released models. */
    private static void writeAttentionMap(ModularConfig cell, TokenObjective r, Path dir) throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            TensorOptions o = Devices.float32(cell.device());
            ModularSampler s = new ModularSampler(r.tasks(), cell.task().pointsPerRow(), o);
            TokenBatch b = s.sample(Split.OOD_TEST, 1, Rng.on(o, Rng.derive(cell.seed(), Rng.Stream.EVAL, 99)));
            RopeDecoder m = r.model();
            int len = (int) b.inputs().size(1);
            ModularPlots.attention(Tensors.toDoubleArray(m.attentionMap(b.inputs(), 0, 0)), len, 8,
                    dir.resolve("attention-layer0-head0.png"));
        }
    }

    /**
     * Writes the attention map of one head of one layer of a trained model for one prompt as a PNG: the prompt is
     * the given digit tokens ({@code x y z x y z ...}, without the final z), or, when null, one o.o.d. held-out row
     * drawn from the run's sets. Returns the prompt used.
     */
    public static int[] attentionMap(TokenObjective loaded, int layer, int head, int[] prompt, Path png)
            throws IOException {
        ModularConfig c = loaded.config();
        int p = c.task().p();
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            TensorOptions o = Devices.float32("cpu");
            Tensor tokens;
            if (prompt == null) {
                ModularSampler s = new ModularSampler(ModularTasks.of(c.task(), c.seed()), c.task().pointsPerRow(), o);
                tokens = s.sample(Split.OOD_TEST, 1, Rng.on(o, Rng.derive(c.seed(), Rng.Stream.EVAL, 99))).inputs();
                double[] t = Tensors.toDoubleArray(tokens);
                prompt = new int[t.length];
                for (int i = 0; i < t.length; i++) {
                    prompt[i] = (int) t[i];
                }
            } else {
                long[] t = new long[prompt.length];
                for (int i = 0; i < prompt.length; i++) {
                    if (prompt[i] < 0 || prompt[i] >= p) {
                        throw new IllegalArgumentException("prompt token " + i + " is " + prompt[i]
                                + "; tokens are digits 0.." + (p - 1) + " (x y z x y z ...)");
                    }
                    t[i] = prompt[i];
                }
                tokens = torch.tensor(t).view(1, prompt.length);
            }
            ModularPlots.attention(Tensors.toDoubleArray(loaded.model().attentionMap(tokens, layer, head)),
                    prompt.length, 8, png);
        }
        return prompt;
    }

    private static Map<String, Object> toJson(Cell c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n_tasks_pl", c.nTasksPl);
        m.put("n_id", c.nId);
        m.put("n_layer", c.nLayer);
        m.put("alpha", c.alpha);
        m.put("batch_size", c.batch);
        m.put("n_embd", c.width);
        m.put("steps", c.steps);
        m.put("plateau_exit", c.plateauExit);
        m.put("steps_per_s", c.stepsPerSecond);
        for (Split sp : Split.values()) {
            Map<String, Object> part = new LinkedHashMap<>();
            part.put("loss", c.loss.get(sp));
            part.put("acc_per_shot", c.acc.get(sp));
            m.put(sp.column, part);
        }
        return m;
    }

    static Cell readCell(Path file) throws IOException {
        JsonNode m = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        if (!m.has("plateau_exit")) {
            throw new IOException(file + " was written before cells recorded their batch, width and plateau exit; "
                    + "delete it (the cell's training is kept) and run the experiment again to rewrite it");
        }
        Map<Split, double[]> acc = new LinkedHashMap<>();
        Map<Split, Double> loss = new LinkedHashMap<>();
        for (Split sp : Split.values()) {
            JsonNode part = m.get(sp.column);
            acc.put(sp, doubles(part.get("acc_per_shot")));
            loss.put(sp, Json.number(part.get("loss")));
        }
        return new Cell(m.get("n_tasks_pl").asInt(), m.get("n_id").asInt(), m.get("n_layer").asInt(),
                m.get("alpha").asDouble(), m.get("batch_size").asInt(), m.get("n_embd").asInt(),
                m.get("steps").asLong(), m.get("plateau_exit").asLong(), m.get("steps_per_s").asDouble(), acc, loss);
    }

    private Path writePhaseDiagram(List<Cell> cells, Path out) throws IOException {
        TreeSet<Integer> ids = new TreeSet<>();
        TreeSet<Integer> depths = new TreeSet<>();
        TreeSet<Double> alphas = new TreeSet<>();
        StringBuilder tsv = new StringBuilder("n_tasks_pl\tn_id\tn_layer\talpha");
        for (Split sp : Split.values()) {
            tsv.append('\t').append(sp.column).append("_acc_last");
        }
        tsv.append('\n');
        for (Cell c : cells) {
            ids.add(c.nId);
            depths.add(c.nLayer);
            alphas.add(c.alpha);
            tsv.append(String.format(Locale.ROOT, "%d\t%d\t%d\t%.2f", c.nTasksPl, c.nId, c.nLayer, c.alpha));
            for (Split sp : Split.values()) {
                tsv.append(String.format(Locale.ROOT, "\t%.4f", c.last(sp)));
            }
            tsv.append('\n');
        }
        AtomicFiles.write(out.resolve("phase_diagram.tsv"), tsv);
        // Rows: depth when the grid varies depth (or nothing else varies), alpha otherwise.
        boolean byDepth = depths.size() > 1 || alphas.size() == 1;
        List<Integer> xs = new ArrayList<>(ids);
        List<String> rows = new ArrayList<>();
        if (byDepth) {
            depths.forEach(d -> rows.add(Integer.toString(d)));
        } else {
            alphas.forEach(a -> rows.add(String.format(Locale.ROOT, "%.2f", a)));
        }
        double[][] v = new double[xs.size()][rows.size()];
        for (double[] col : v) {
            Arrays.fill(col, Double.NaN);
        }
        for (Cell c : cells) {
            int j = byDepth ? new ArrayList<>(depths).indexOf(c.nLayer) : new ArrayList<>(alphas).indexOf(c.alpha);
            v[xs.indexOf(c.nId)][j] = c.last(Split.OOD_TEST);
        }
        Path png = out.resolve("phase_diagram.png");
        ModularPlots.heatmap(String.format(Locale.ROOT, "o.o.d. accuracy on held-out pairs, shot %d (p = %d)",
                config.task().pointsPerRow() - 1, config.task().p()), "pre-training tasks n_id",
                xs.stream().map(String::valueOf).toList(), byDepth ? "depth" : "alpha", rows, v, png);
        return png;
    }

    /** The Bayes line (uniform prior, i.i.d. examples) and the exact solver on the cell's own o.o.d. test rows. */
    private Map<String, double[]> references(Cell c) {
        int p = config.task().p();
        int n = config.task().pointsPerRow();
        double[] bayes = new double[n];
        for (int k = 0; k < n; k++) {
            bayes[k] = ZpReference.bayesAccuracy(p, k);
        }
        ModularConfig cell = config.cell(c.nTasksPl, c.nLayer, c.alpha, config.outDir());
        double[] solver;
        try (PointerScope scope = new PointerScope()) {
            TensorOptions o = Devices.float32("cpu");
            ModularSampler s = new ModularSampler(ModularTasks.of(cell.task(), cell.seed()), n, o);
            // The same rows the trainer evaluated o.o.d. test on (same seed derivation).
            TokenBatch b = s.sample(Split.OOD_TEST, cell.eval().rows(),
                    Rng.on(o, Rng.derive(cell.seed(), Rng.Stream.EVAL, Split.OOD_TEST.ordinal())));
            solver = ZpReference.solverCurve(p, b);
        }
        Map<String, double[]> m = new LinkedHashMap<>();
        m.put("Bayes-optimal over Z_p (i.i.d. examples)", bayes);
        m.put("exact Z_p solver (these rows)", solver);
        return m;
    }

    private Path writeCurves(Cell c, Path out) throws IOException {
        Map<String, double[]> curves = new LinkedHashMap<>();
        curves.put("i.d. tasks, training pairs", c.acc.get(Split.ID_TRAIN));
        curves.put("i.d. tasks, held-out pairs", c.acc.get(Split.ID_TEST));
        curves.put("o.o.d. tasks, training pairs", c.acc.get(Split.OOD_TRAIN));
        curves.put("o.o.d. tasks, held-out pairs", c.acc.get(Split.OOD_TEST));
        Map<String, double[]> refs = references(c);
        String name = "shots-" + cellName(c.nTasksPl, c.nLayer, c.alpha);
        Path png = out.resolve(name + ".png");
        ModularPlots.shots(String.format(Locale.ROOT, "n_id = %d, depth %d, alpha %.2f (p = %d)", c.nId, c.nLayer,
                c.alpha, config.task().p()), curves, refs, png);
        StringBuilder tsv = new StringBuilder("shot");
        Map<String, double[]> all = new LinkedHashMap<>();
        for (Split sp : Split.values()) {
            all.put(sp.column + "_acc", c.acc.get(sp));
        }
        all.put("bayes", refs.get("Bayes-optimal over Z_p (i.i.d. examples)"));
        all.put("solver", refs.get("exact Z_p solver (these rows)"));
        all.keySet().forEach(k -> tsv.append('\t').append(k));
        tsv.append('\n');
        for (int k = 0; k < config.task().pointsPerRow(); k++) {
            tsv.append(k);
            for (double[] v : all.values()) {
                tsv.append(String.format(Locale.ROOT, "\t%.4f", v[k]));
            }
            tsv.append('\n');
        }
        AtomicFiles.write(out.resolve(name + ".tsv"), tsv);
        return png;
    }

    /** The probability that {@code n} draws with replacement from {@code pool} items repeat one: 1 - prod(1 - i/pool). */
    static double repeatProbability(int pool, int n) {
        double distinct = 1;
        for (int i = 1; i < n; i++) {
            distinct *= Math.max(0, 1 - (double) i / pool);
        }
        return 1 - distinct;
    }

    /** The level an accuracy must clear to count as learnt: three times chance, 3/p (fixed before any run). */
    static final double LEARNT = 3.0;
    /** How much the many-task run's o.o.d. accuracy must exceed the few-task run's to count as a move to o.o.d. */
    static final double OOD_GAIN = 0.1;

    /**
     * The paper's two claims judged on the fewest- and most-task cells, by criteria fixed here before any run.
     * Generalisation is judged on held-out pairs (never on training pairs, where a memorising model also scores), and
     * "above" or "below" 3/p means the whole 95% interval over the evaluated rows is.
     */
    static List<Claim> claims(Cell fewest, Cell most, int p, int rows) {
        double bar = LEARNT / p;
        double[] fewIdTrain = Claim.interval(fewest.last(Split.ID_TRAIN), rows);
        double[] fewIdTest = Claim.interval(fewest.last(Split.ID_TEST), rows);
        double[] fewOod = Claim.interval(fewest.last(Split.OOD_TEST), rows);
        Claim.Verdict few;
        if (fewIdTrain[1] < bar) {
            few = Claim.Verdict.INCONCLUSIVE;   // nothing learnt, not even the training pairs
        } else if (fewIdTest[0] >= bar && fewOod[1] < bar) {
            few = Claim.Verdict.AGREE;
        } else if (fewIdTest[1] < bar || fewOod[0] >= bar) {
            few = Claim.Verdict.DISAGREE;        // memorised (held-out pairs not solved), or already o.o.d.
        } else {
            few = Claim.Verdict.INCONCLUSIVE;    // an interval straddles 3/p
        }
        List<Claim> out = new ArrayList<>();
        out.add(new Claim("few pre-training tasks: in-distribution generalisation only",
                String.format(Locale.ROOT, "fewest-task run: held-out pairs of its own tasks above 3/p = %.3f and new "
                        + "tasks' held-out pairs below it (95%% intervals over %d rows); inconclusive if even its "
                        + "training pairs are below", bar, rows),
                String.format(Locale.ROOT, "n_id %d: own tasks, held-out pairs %.3f [%.3f, %.3f]; new tasks %.3f [%.3f, "
                        + "%.3f]; training pairs %.3f", fewest.nId, fewest.last(Split.ID_TEST), fewIdTest[0], fewIdTest[1],
                        fewest.last(Split.OOD_TEST), fewOod[0], fewOod[1], fewest.last(Split.ID_TRAIN)), few));
        double[] mostOod = Claim.interval(most.last(Split.OOD_TEST), rows);
        double[] mostIdTrain = Claim.interval(most.last(Split.ID_TRAIN), rows);
        double gain = most.last(Split.OOD_TEST) - fewest.last(Split.OOD_TEST);
        Claim.Verdict many;
        if (most == fewest) {
            many = Claim.Verdict.INCONCLUSIVE;   // one task count: nothing to compare
        } else if (mostOod[0] >= bar && gain >= OOD_GAIN) {
            many = Claim.Verdict.AGREE;
        } else if (mostIdTrain[1] < bar) {
            many = Claim.Verdict.INCONCLUSIVE;   // not trained far enough to learn even its own training pairs
        } else {
            many = Claim.Verdict.DISAGREE;
        }
        out.add(new Claim("many pre-training tasks: out-of-distribution generalisation",
                String.format(Locale.ROOT, "most-task run: new tasks' held-out pairs above 3/p = %.3f (95%% interval) "
                        + "and at least %.1f above the fewest-task run; inconclusive if its own training pairs are "
                        + "below 3/p", bar, OOD_GAIN),
                String.format(Locale.ROOT, "n_id %d: new tasks %.3f [%.3f, %.3f], gain %+.3f; own training pairs %.3f",
                        most.nId, most.last(Split.OOD_TEST), mostOod[0], mostOod[1], gain, most.last(Split.ID_TRAIN)),
                many));
        return out;
    }

    /** The distinct values, ascending: {@code 64}, or {@code 256 and 512}, or {@code 16, 32 and 64}. */
    static String either(Stream<Integer> values) {
        List<String> v = values.distinct().sorted().map(String::valueOf).toList();
        return v.size() == 1 ? v.get(0) : String.join(", ", v.subList(0, v.size() - 1)) + " and " + v.get(v.size() - 1);
    }

    private Path writeSummary(List<Cell> cells, Cell fewest, Cell most, Path out) throws IOException {
        int p = config.task().p();
        int last = config.task().pointsPerRow() - 1;
        double chance = 1.0 / p;
        StringBuilder s = new StringBuilder();
        s.append("# He et al. 2024, in-context modular arithmetic: measured\n\n");
        // Width and batch as the cells ran them: the scaling study's axes replace the config's own values.
        s.append(String.format(Locale.ROOT, "p = %d, %d examples per row, depth(s) %s, width %s, %d heads, %d steps "
                + "of %s rows, lr %.2g, weight decay %.2g. Accuracy at the last shot (%d examples before the query); "
                + "chance is 1/p = %.3f, the Bayes-optimal accuracy at that shot %.4f.%n%n", p,
                config.task().pointsPerRow(), config.phaseDiagram().nLayer(), either(cells.stream().map(Cell::width)),
                config.model().nHead(), config.training().steps(), either(cells.stream().map(Cell::batch)),
                config.training().learningRate(), config.training().weightDecay(), last, chance,
                ZpReference.bayesAccuracy(p, last)));
        s.append("| n_id | depth | alpha | batch | width | i.d. train pairs | i.d. held-out pairs | o.o.d. train pairs "
                + "| o.o.d. held-out pairs | left the ln p plateau at | steps/s |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Cell c : cells) {
            s.append(String.format(Locale.ROOT, "| %d | %d | %.2f | %d | %d | %.3f | %.3f | %.3f | %.3f | %s | %.1f |%n",
                    c.nId, c.nLayer, c.alpha, c.batch, c.width, c.last(Split.ID_TRAIN), c.last(Split.ID_TEST),
                    c.last(Split.OOD_TRAIN), c.last(Split.OOD_TEST), c.plateauExit >= 0 ? "step " + c.plateauExit
                            : "not left by " + c.steps, c.stepsPerSecond));
        }
        s.append("\n## The paper's claim beside the measurement\n\n");
        s.append("**Claim (He et al. 2024):** with few pre-training tasks the model generalises in distribution "
                + "only (it solves its pre-training tasks, also on held-out pairs, but not new tasks); as the number "
                + "of pre-training tasks grows it moves to out-of-distribution generalisation: new tasks are solved "
                + "in context, approaching the Bayes-optimal curve.\n\n");
        s.append(String.format(Locale.ROOT, "**Measured:** with n_id = %d, i.d. accuracy %.3f (training pairs) / "
                + "%.3f (held-out pairs) against o.o.d. %.3f on held-out pairs; with n_id = %d, o.o.d. held-out "
                + "accuracy %.3f (i.d. %.3f / %.3f).%n%n", fewest.nId, fewest.last(Split.ID_TRAIN),
                fewest.last(Split.ID_TEST), fewest.last(Split.OOD_TEST), most.nId, most.last(Split.OOD_TEST),
                most.last(Split.ID_TRAIN), most.last(Split.ID_TEST)));
        List<Claim> claims = claims(fewest, most, p, config.eval().rows());
        s.append(Claim.table(claims));
        if (claims.stream().anyMatch(c -> c.verdict() != Claim.Verdict.AGREE)) {
            s.append("\nWhere a claim is not confirmed, the run is far smaller than the paper's (200k steps of 1024 rows "
                    + "at width 512): the CPU default trades fidelity for minutes.\n");
        }
        // The plateau study fits task count, batch and width at one depth and split: the grid's first.
        int depth = config.phaseDiagram().nLayer().get(0);
        double alpha = config.phaseDiagram().alpha().get(0);
        s.append('\n').append(PlateauScaling.section(cells.stream().filter(c -> c.nLayer == depth && c.alpha == alpha)
                .map(c -> new PlateauScaling.Point(c.nId, c.batch, c.width, c.plateauExit, c.steps, c.stepsPerSecond))
                .toList(), p, config.training().batchSize(), config.model().nEmbd()));
        if (cells.stream().anyMatch(c -> c.nLayer != depth || c.alpha != alpha)) {
            s.append(String.format(Locale.ROOT, "%nThe plateau study above reads the cells at depth %d and alpha %.2f "
                    + "only (the grid's first); the other cells' exits are in the first table.%n", depth, alpha));
        }
        int pairs = config.task().trainPairs();
        int n = config.task().pointsPerRow();
        s.append(String.format(Locale.ROOT, "%nSampling differs from the reference's: here every row holds %d distinct "
                + "(x, y) pairs of the %d training pairs, drawn per row; the reference draws pairs with replacement "
                + "and gives every task in a batch the same (x, y) sequence, so at this config %.0f%% of its rows "
                + "would repeat a pair (1 - prod(1 - i/%d), i < %d) and its tasks share their examples.%n", n, pairs,
                100 * repeatProbability(pairs, n), pairs, n));
        s.append("\nFiles: `phase_diagram.png` / `.tsv` (o.o.d. held-out accuracy at the last shot per cell), "
                + "`shots-*.png` / `.tsv` (accuracy per shot with the Bayes and exact-solver lines), "
                + "`cells/*/metrics.jsonl` (every record of training; `metrics.tsv` has its evaluations in the "
                + "reference's columns), "
                + "`cells/*/attention-layer0-head0.png`.\n");
        Path file = out.resolve("summary.md");
        AtomicFiles.write(file, s);
        return file;
    }
}

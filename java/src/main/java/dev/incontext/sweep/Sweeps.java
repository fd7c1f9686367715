package dev.incontext.sweep;

import dev.incontext.util.AtomicFiles;
import dev.incontext.report.Heatmap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Runs a sweep: {@code Sweeps.run(plan, options, listener) -> SweepOutcome}. Picks the backend by the master (see
 * {@link SweepBackend}), then writes {@code results.csv} (one row per cell) and, for two crossed axes, a heatmap of the
 * spec's metric ({@code heatmap.png}, {@code heatmap.svg}; the mean over seeds) into the sweep's out_dir.
 */
public final class Sweeps {
    private Sweeps() {}

    /** Master name of the built-in backend: the cells one after another in this JVM, without Spark. */
    public static final String SERIAL = "serial";

    public static SweepOutcome run(SweepPlan plan, SweepOptions options, SweepListener listener) throws Exception {
        long t0 = System.nanoTime();
        SweepBackend backend = backend(options.master());
        Files.createDirectories(plan.outDir());
        AtomicFiles.write(plan.outDir().resolve("base-config.yaml"), plan.baseYaml());
        List<CellResult> reached = backend.run(plan, options, listener);
        List<CellResult> all = complete(plan, reached);
        Path csv = plan.outDir().resolve("results.csv");
        writeCsv(plan, all, csv);
        Path png = null;
        Path svg = null;
        Heatmap h = heatmap(plan, all);
        if (h != null) {
            png = plan.outDir().resolve("heatmap.png");
            svg = plan.outDir().resolve("heatmap.svg");
            h.writePng(png);
            h.writeSvg(svg);
        }
        return new SweepOutcome(all, csv, png, svg, (System.nanoTime() - t0) / 1e9);
    }

    /** The backend for a master: serial, or one on the class path through ServiceLoader. */
    public static SweepBackend backend(String master) {
        if (master.equals(SERIAL)) {
            return new SerialBackend();
        }
        for (SweepBackend b : ServiceLoader.load(SweepBackend.class)) {
            if (b.accepts(master)) {
                return b;
            }
        }
        throw new IllegalArgumentException("no sweep backend for --master " + master + ": Spark masters (local[N], "
                + "spark://host:port, ...) need the incontext-sweep module (dev.incontext:incontext-sweep) on the class "
                + "path, which ./incontext includes; --master serial runs the cells one by one without Spark");
    }

    /** Cells the backend did not reach (fail-fast) are reported from what an earlier execution recorded, if anything. */
    private static List<CellResult> complete(SweepPlan plan, List<CellResult> reached) {
        Map<Integer, CellResult> byIndex = new LinkedHashMap<>();
        for (CellResult r : reached) {
            byIndex.put(r.index(), r);
        }
        List<CellResult> out = new ArrayList<>();
        for (Cell c : plan.cells()) {
            CellResult r = byIndex.get(c.index());
            if (r == null) {
                Map<String, Object> s = CellRunner.readStatus(plan.outDir().resolve(c.name()));
                CellResult.Status st = s != null && "finished".equals(s.get("status")) ? CellResult.Status.FINISHED
                        : s != null && "failed".equals(s.get("status")) ? CellResult.Status.FAILED
                        : CellResult.Status.INTERRUPTED;
                r = new CellResult(c.index(), c.name(), st, CellResult.Action.NONE, -1,
                        s == null ? "not run" : String.valueOf(s.getOrDefault("message", "")), 0,
                        s == null ? new LinkedHashMap<>() : CellRunner.metricsOf(s), "");
            }
            out.add(r);
        }
        return out;
    }

    static void writeCsv(SweepPlan plan, List<CellResult> results, Path file) throws IOException {
        Set<String> metrics = new LinkedHashSet<>(SweepSpec.METRICS);
        results.forEach(r -> metrics.addAll(r.metrics().keySet()));
        List<String> keys = plan.cells().isEmpty() ? List.of() : plan.cells().get(0).keys();
        StringBuilder s = new StringBuilder("cell");
        keys.forEach(k -> s.append(',').append(k));
        s.append(",status,action,resumed_from_step");
        metrics.forEach(m -> s.append(',').append(m));
        s.append(",seconds,message\n");
        for (CellResult r : results) {
            Cell c = plan.cells().get(r.index());
            s.append(csv(c.name()));
            c.values().forEach(v -> s.append(',').append(csv(v)));
            s.append(',').append(r.status().name().toLowerCase(Locale.ROOT)).append(',')
                    .append(r.action().name().toLowerCase(Locale.ROOT)).append(',')
                    .append(r.resumedFromStep() >= 0 ? Long.toString(r.resumedFromStep()) : "");
            for (String m : metrics) {
                Double v = r.metrics().get(m);
                s.append(',').append(v == null || v.isNaN() ? "" : Double.toString(v));
            }
            s.append(String.format(Locale.ROOT, ",%.2f,", r.seconds())).append(csv(r.message())).append('\n');
        }
        AtomicFiles.write(file, s);
    }

    private static String csv(String v) {
        if (v == null) {
            return "";
        }
        String one = v.replace('\n', ' ');
        return one.contains(",") || one.contains("\"") ? "\"" + one.replace("\"", "\"\"") + "\"" : one;
    }

    /** Two crossed axes (seeds aside): the spec's metric, averaged over seeds; null otherwise. */
    static Heatmap heatmap(SweepPlan plan, List<CellResult> results) {
        List<SweepSpec.Axis> axes = plan.spec().gridAxes();
        if (axes.size() != 2 || plan.spec().mode() != SweepSpec.Mode.CROSS) {
            return null;
        }
        SweepSpec.Axis rows = axes.get(0);
        SweepSpec.Axis cols = axes.get(1);
        double[][] sum = new double[rows.values().size()][cols.values().size()];
        int[][] n = new int[rows.values().size()][cols.values().size()];
        String metric = plan.spec().heatmapMetric();
        for (CellResult r : results) {
            Cell c = plan.cells().get(r.index());
            Double v = r.metrics().get(metric);
            if (r.status() == CellResult.Status.FINISHED && v != null && Double.isFinite(v)) {
                int i = rows.values().indexOf(c.value(rows.key()));
                int j = cols.values().indexOf(c.value(cols.key()));
                sum[i][j] += v;
                n[i][j]++;
            }
        }
        double[][] mean = new double[sum.length][];
        for (int i = 0; i < sum.length; i++) {
            mean[i] = new double[sum[i].length];
            for (int j = 0; j < sum[i].length; j++) {
                mean[i][j] = n[i][j] > 0 ? sum[i][j] / n[i][j] : Double.NaN;
            }
        }
        String title = metric + (plan.spec().seeds() > 1 ? " (mean over " + plan.spec().seeds() + " seeds)" : "");
        return new Heatmap(title, rows.key(), rows.values(), cols.key(), cols.values(), mean);
    }

    /** One cell after another in the calling thread. */
    static final class SerialBackend implements SweepBackend {
        @Override
        public boolean accepts(String master) {
            return SERIAL.equals(master);
        }

        @Override
        public List<CellResult> run(SweepPlan plan, SweepOptions options, SweepListener listener) {
            int threads = options.threadsPerCell() > 0 ? options.threadsPerCell()
                    : Runtime.getRuntime().availableProcessors();
            CellRunner runner = new CellRunner(plan, new CellRunner.Options(threads, options.retry(),
                    plan.spec().evaluate()));
            listener.onStart(plan.cells().size(), 1);
            List<CellResult> out = new ArrayList<>();
            for (Cell c : plan.cells()) {
                listener.onCellStarted(c);
                CellResult r = runner.run(c, () -> false, listener::onNotice, List.of());
                out.add(r);
                listener.onCellFinished(r);
                if (options.failFast() && r.failed() && r.action() != CellResult.Action.SKIPPED) {
                    listener.onNotice("--fail-fast: stopping after the failure of " + c.name());
                    break;
                }
            }
            return out;
        }
    }
}

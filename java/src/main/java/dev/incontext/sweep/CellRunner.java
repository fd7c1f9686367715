package dev.incontext.sweep;

import dev.incontext.util.AtomicFiles;
import dev.incontext.config.ConfigLoader;
import dev.incontext.train.TrainingDivergedException;
import dev.incontext.util.Sha256;
import java.io.IOException;
import java.io.Serializable;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.bytedeco.javacpp.PointerScope;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Runs one cell of a sweep into its directory ({@code <sweep out_dir>/<cell name>}): the training is the sweep's
 * {@link CellJob} (a regression run's config.yaml, metrics.jsonl, checkpoints/, eval.csv, eval.json; or another kind's
 * files), plus {@code cell.yaml} with the cell's status and metrics once it has finished or failed. Plain Java, no
 * Spark: a Spark task calls it, and so does the serial backend.
 *
 * <p>Resumable. A cell whose {@code cell.yaml} says finished, for the same config, and whose final outputs are there,
 * is skipped. Any other cell is trained, and continues from what an interrupted execution left (a regression run's
 * newest valid checkpoint). A cell recorded as failed is skipped unless {@code retry}. Every exception a cell throws
 * (an invalid config value, divergence, a refused checkpoint) is caught and recorded with its message: it fails the
 * cell at once and never reaches the caller, so a scheduler does not retry a deterministic error.
 */
public final class CellRunner implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The cell's record in its run directory. */
    public static final String STATUS_FILE = "cell.yaml";

    private final CellJob job;
    private final String baseYaml;
    private final String sweepDir;
    private final Options options;

    /**
     * How cells run. {@code threads}: torch and OpenBLAS threads of a cell whose config leaves them at 0 (0: as the
     * environment sets them); {@code retry}: rerun cells recorded as failed; {@code evaluate}: evaluate every cell.
     */
    public record Options(int threads, boolean retry, boolean evaluate) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    public CellRunner(CellJob job, String baseYaml, Path sweepDir, Options options) {
        this.job = job;
        this.baseYaml = baseYaml;
        this.sweepDir = sweepDir.toAbsolutePath().toString();
        this.options = options;
    }

    public CellRunner(SweepPlan plan, Options options) {
        this(plan.job(), plan.baseYaml(), plan.outDir(), options);
    }

    /** Runs a cell (see the class comment); never throws for the cell's own errors. */
    public CellResult run(Cell cell) {
        return run(cell, () -> false, m -> {}, List.of());
    }

    /**
     * The device a cell's config asks for (cpu, cuda, cuda:N), or null when its config is invalid (running the cell
     * records that error).
     */
    public String device(Cell cell) {
        try {
            return job.prepare(baseYaml, cell, dir(cell), options.threads(), List.of()).device();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Runs a cell; {@code stop} is polled after every step (true: stop, leaving the cell resumable), {@code notices}
     * receives what the trainer reports, {@code extraOverrides} are applied last and not part of the cell's identity
     * (e.g. the device a scheduler assigned).
     */
    public CellResult run(Cell cell, BooleanSupplier stop, Consumer<String> notices, List<String> extraOverrides) {
        long t0 = System.nanoTime();
        Path dir = dir(cell);
        String where = host() + " pid " + ProcessHandle.current().pid() + " " + Thread.currentThread().getName();
        // The cell's identity is its run's (the config minus run-local keys, RunIdentity) and whether it is
        // evaluated; a config that does not even resolve is identified by its text.
        CellJob.Run run = null;
        RuntimeException invalid = null;
        String sha;
        try {
            run = job.prepare(baseYaml, cell, dir, options.threads(), extraOverrides);
            sha = run.identity() + (options.evaluate() ? "+evaluated" : "");
        } catch (RuntimeException e) {
            invalid = e;
            sha = identity(cell);
        }
        Map<String, Object> prev = readStatus(dir);
        boolean sameConfig = prev != null && sha.equals(prev.get("config_sha256"));
        boolean retried = false;
        if (sameConfig && "failed".equals(prev.get("status"))) {
            if (!options.retry()) {
                return new CellResult(cell.index(), cell.name(), CellResult.Status.FAILED, CellResult.Action.SKIPPED, -1,
                        String.valueOf(prev.get("message")), 0, new LinkedHashMap<>(), where);
            }
            retried = true;
        }
        if (invalid != null) {
            return fail(cell, dir, sha, "invalid config: " + message(invalid), t0, where, retried);
        }
        if (sameConfig && "finished".equals(prev.get("status")) && run.complete()) {
            return new CellResult(cell.index(), cell.name(), CellResult.Status.FINISHED, CellResult.Action.SKIPPED, -1,
                    "", 0, metricsOf(prev), where);
        }
        try (PointerScope scope = new PointerScope()) {
            Files.createDirectories(dir);
            Files.deleteIfExists(dir.resolve(STATUS_FILE));
            CellJob.Trained trained = run.train(stop, m -> notices.accept(cell.name() + ": " + m), options.evaluate());
            writeStatus(dir, "finished", sha, "", (System.nanoTime() - t0) / 1e9, trained.metrics());
            long from = trained.resumedFromStep();
            CellResult.Action action = retried ? CellResult.Action.RETRIED
                    : from >= 0 ? CellResult.Action.RESUMED : CellResult.Action.TRAINED;
            return new CellResult(cell.index(), cell.name(), CellResult.Status.FINISHED, action, from, "",
                    (System.nanoTime() - t0) / 1e9, trained.metrics(), where);
        } catch (CellJob.Stopped e) {
            return new CellResult(cell.index(), cell.name(), CellResult.Status.INTERRUPTED, CellResult.Action.NONE, -1,
                    "stopped before its last step; a re-run resumes it", (System.nanoTime() - t0) / 1e9,
                    new LinkedHashMap<>(), where);
        } catch (Exception | LinkageError e) {
            return fail(cell, dir, sha, message(e), t0, where, retried);
        }
    }

    private Path dir(Cell cell) {
        return Path.of(sweepDir).resolve(cell.name());
    }

    private CellResult fail(Cell cell, Path dir, String sha, String message, long t0, String where, boolean retried) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        try {
            Files.createDirectories(dir);
            writeStatus(dir, "failed", sha, message, seconds, new LinkedHashMap<>());
        } catch (IOException | RuntimeException e) {
            message = message + " (and its status could not be recorded: " + e.getMessage() + ")";
        }
        return new CellResult(cell.index(), cell.name(), CellResult.Status.FAILED,
                retried ? CellResult.Action.RETRIED : CellResult.Action.TRAINED, -1, message, seconds,
                new LinkedHashMap<>(), where);
    }

    /** For a cell whose config does not resolve: a hash of its text (the base config and the cell's values). */
    private String identity(Cell cell) {
        MessageDigest md = Sha256.digest();
        md.update(baseYaml.getBytes(StandardCharsets.UTF_8));
        md.update(String.join("\n", cell.overrides()).getBytes(StandardCharsets.UTF_8));
        md.update(("\nevaluate=" + options.evaluate()).getBytes(StandardCharsets.UTF_8));
        return Sha256.hex(md);
    }

    /** The record a previous execution left ({@code cell.yaml}), or null when there is none or it is unreadable. */
    public static Map<String, Object> readStatus(Path dir) {
        Path f = dir.resolve(STATUS_FILE);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            Object o = ConfigLoader.strictYaml().load(Files.readString(f, StandardCharsets.UTF_8));
            if (o instanceof Map<?, ?> m) {
                Map<String, Object> out = new LinkedHashMap<>();
                m.forEach((k, v) -> out.put(String.valueOf(k), v));
                return out;
            }
        } catch (IOException | YAMLException e) {
            // an unreadable record is no record: the cell runs (or resumes) again
        }
        return null;
    }

    static LinkedHashMap<String, Double> metricsOf(Map<String, Object> status) {
        LinkedHashMap<String, Double> out = new LinkedHashMap<>();
        if (status.get("metrics") instanceof Map<?, ?> m) {
            m.forEach((k, v) -> out.put(String.valueOf(k), v instanceof Number n ? n.doubleValue()
                    : v == null ? Double.NaN : parse(String.valueOf(v))));
        }
        return out;
    }

    private static double parse(String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static void writeStatus(Path dir, String status, String sha, String message, double seconds,
            Map<String, Double> metrics) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status);
        m.put("config_sha256", sha);
        m.put("message", message);
        m.put("seconds", seconds);
        Map<String, Object> values = new LinkedHashMap<>();
        // Doubles as Java writes them: exact round trip, and NaN as a string YAML keeps.
        metrics.forEach((k, v) -> values.put(k, Double.isFinite(v) ? (Object) v : String.valueOf(v)));
        m.put("metrics", values);
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        AtomicFiles.write(dir.resolve(STATUS_FILE), new Yaml(o).dump(m));
    }

    private static String message(Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return e instanceof IllegalArgumentException || e instanceof TrainingDivergedException ? m
                : e.getClass().getSimpleName() + ": " + m;
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}

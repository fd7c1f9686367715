package dev.incontext.experiments;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.Agreement;
import dev.incontext.eval.Agreements;
import dev.incontext.eval.EvalCache;
import dev.incontext.eval.EvalSuite;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.Metric;
import dev.incontext.eval.MixedPrecision;
import dev.incontext.eval.Provenance;
import dev.incontext.eval.Setting;
import dev.incontext.eval.SuiteResult;
import dev.incontext.eval.baselines.BaselineContext;
import dev.incontext.eval.baselines.BaselineSpec;
import dev.incontext.eval.baselines.Baselines;
import dev.incontext.model.Predictor;
import dev.incontext.report.NpyExport;
import dev.incontext.report.SuiteReports;
import dev.incontext.tasks.TaskFamily;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.train.TrainedModel;
import dev.incontext.util.BuildInfo;
import dev.incontext.util.Devices;
import java.io.IOException;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A trained model against its baselines over every setting of a suite: {@code run(model, config, suite) ->
 * SuiteResult}. Baselines are the task family's relevant set (or {@code eval.baselines}), chosen per setting from
 * the task the setting's prompts come from; settings that do not apply to the model are listed with the reason;
 * curves come from the {@link EvalCache} when nothing they depend on changed.
 */
public final class SuiteEvaluation {
    private SuiteEvaluation() {}

    /**
     * @param cache where evaluated curves are kept between runs (null: no cache)
     * @param capture keep prompts and predictions of every setting for {@code --export} (bypasses the cache)
     * @param agreementPrompts prompts for SPD/ILWD when the suite measures agreement
     * @param probes probe points per prefix for ILWD (0: 2d + 1)
     */
    public record Options(int prompts, int batchSize, EvalCache cache, boolean capture, int agreementPrompts,
            int probes) {
        public static Options of(RunConfig c) {
            return new Options(c.eval().numPrompts(), c.eval().batchSize(), null, false,
                    Math.min(256, c.eval().numPrompts()), 0);
        }

        public Options withCache(EvalCache cache) {
            return new Options(prompts, batchSize, cache, capture, agreementPrompts, probes);
        }

        public Options withCapture(boolean capture) {
            return new Options(prompts, batchSize, cache, capture, agreementPrompts, probes);
        }
    }

    /** The result, and per setting what was captured (when asked) and how each predictor was configured. */
    public record Outcome(SuiteResult result, Map<String, Evaluator.Captured> captured,
            Map<String, Map<String, String>> predictorSettings, int cachedCurves, int computedCurves) {}

    /** What the model's cache key says of eval.precision: nothing for float32 (keys as before), else "+bf16" / "+fp16". */
    private static String precisionTag(RunConfig.Precision p) {
        return p == RunConfig.Precision.FLOAT32 ? "" : "+" + p.name().toLowerCase(Locale.ROOT);
    }

    /** The code part of every cache key: the fingerprint of the classes and native files that run. */
    static String cacheCode() {
        return BuildInfo.codeFingerprint();
    }

    public static Outcome run(TrainedModel model, RunConfig c, EvalSuite suite, Options o, Evaluator.Listener listener)
            throws IOException {
        var options = Devices.float32(c.device());
        int trainedPoints = c.evalPoints();
        int positions = c.model().nPositions();
        String fingerprint = model.fingerprint();
        Provenance provenance = new Provenance(ConfigLoader.toYaml(c),
                model.checkpoint().map(Object::toString).orElse("(in memory)"), fingerprint, BuildInfo.commit(),
                BuildInfo.version(), c.device(), BuildInfo.cpu(),
                OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).toString());
        List<Evaluation> evaluations = new ArrayList<>();
        List<SuiteResult.Skipped> skipped = new ArrayList<>();
        List<Agreement> agreements = new ArrayList<>();
        Map<String, Evaluator.Captured> captured = new LinkedHashMap<>();
        Map<String, Map<String, String>> settingsOf = new LinkedHashMap<>();
        int cached = 0;
        int computed = 0;
        TaskSampler trainedSampler = new TaskSampler(c.task(), c.seed(), options);
        // What every cache key shares, computed once: the code that runs (uncommitted edits included), the task,
        // the model and the request.
        List<String> run = List.of(cacheCode(), ConfigLoader.toYaml(c.task()),
                ConfigLoader.toYaml(c.model()), Integer.toString(o.prompts()), Integer.toString(o.batchSize()),
                Integer.toString(trainedPoints), Long.toString(c.seed()));
        for (Setting setting : suite.settings()) {
            Optional<String> why = setting.unsupported(c.task(), trainedPoints, positions);
            if (why.isPresent()) {
                skipped.add(new SuiteResult.Skipped(setting.id(), why.get()));
                continue;
            }
            RunConfig.TaskConfig task = setting.task(c.task());
            boolean classification = TaskFamily.of(task).classification();
            // The baselines see the setting's task, and the training distribution's sampler: dMMSE's prior is the
            // pool the model was trained on, also when the prompts come from fresh tasks.
            BaselineContext ctx = new BaselineContext(task, trainedSampler, c.seed());
            List<Predictor> predictors = new ArrayList<>();
            Map<String, String> described = new LinkedHashMap<>();
            predictors.add(MixedPrecision.of(model.model(), c.eval().precision(), c.device()));
            described.put(model.model().name(), "trained model, checkpoint " + provenance.checkpoint() + ", sha256 "
                    + fingerprint);
            for (BaselineSpec spec : Baselines.forEval(task, c.eval())) {
                Predictor p = spec.create(ctx);
                predictors.add(p);
                described.put(p.name(), spec.toString());
            }
            settingsOf.put(setting.id(), described);
            Evaluator.Request request = new Evaluator.Request(o.prompts(), o.batchSize(), c.seed(), options, o.capture());
            List<String> keys = new ArrayList<>();
            Evaluation.Curve[] curves = new Evaluation.Curve[predictors.size()];
            List<Predictor> todo = new ArrayList<>();
            List<Integer> todoIndex = new ArrayList<>();
            for (int i = 0; i < predictors.size(); i++) {
                String identity = i == 0 ? "model:" + fingerprint + precisionTag(c.eval().precision())
                        : described.get(predictors.get(i).name());
                List<String> parts = new ArrayList<>(run);
                parts.addAll(List.of(identity, predictors.get(i).name(), setting.toString()));
                String key = EvalCache.key(parts);
                keys.add(key);
                Optional<Evaluation.Curve> hit = o.cache() == null || o.capture() ? Optional.empty()
                        : o.cache().get(key, predictors.get(i).name());
                if (hit.isPresent()) {
                    curves[i] = hit.get();
                    cached++;
                } else {
                    todo.add(predictors.get(i));
                    todoIndex.add(i);
                }
            }
            if (!todo.isEmpty()) {
                Evaluator.Result r = Evaluator.evaluate(todo, c.task(), trainedPoints, positions, setting, request,
                        listener);
                Evaluation fresh = r.evaluation();
                if (r.captured() != null) {
                    captured.put(setting.id(), r.captured());
                }
                for (int j = 0; j < todo.size(); j++) {
                    Evaluation.Curve curve = fresh.curves().get(j);
                    curves[todoIndex.get(j)] = curve;
                    computed++;
                    if (o.cache() != null) {
                        o.cache().put(keys.get(todoIndex.get(j)), curve);
                    }
                }
            }
            evaluations.add(new Evaluation(setting.id(), setting.description(),
                    Metric.of(classification), setting.normaliser(c.task()),
                    o.prompts(), List.of(curves), setting.groupedByBatch() ? o.batchSize() : 1));
            if (suite.agreement() && agreements.isEmpty() && !classification) {
                Evaluator.Request ar = new Evaluator.Request(o.agreementPrompts(), o.batchSize(), c.seed(), options,
                        false);
                agreements.addAll(Agreements.measure(model.model(), predictors.subList(1, predictors.size()), c.task(),
                        trainedPoints, positions, setting, ar, o.probes()));
            }
        }
        SuiteResult result = new SuiteResult(suite.name(), evaluations, skipped, agreements, provenance);
        return new Outcome(result, captured, settingsOf, cached, computed);
    }

    /**
     * Writes the suite's files into {@code dir}: per setting eval.csv, eval.json, eval.png and eval.svg, agreement
     * curves, provenance.json, suite.json and report.html; and, when the outcome captured them and {@code exportDir} is
     * set, per setting the prompts and every predictor's predictions as .npy files with a manifest.json. Returns the
     * report and the export manifests.
     */
    public static List<Path> write(Outcome o, RunConfig c, Path dir,
            Path exportDir) throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(SuiteReports.write(o.result(), dir));
        if (exportDir != null) {
            for (Evaluation e : o.result().evaluations()) {
                Evaluator.Captured cap = o.captured().get(e.setting());
                if (cap == null) {
                    throw new IllegalStateException("nothing was captured for setting " + e.setting()
                            + "; run the suite with capture on to export");
                }
                files.add(NpyExport.write(exportDir.resolve(e.setting()), cap, e,
                        o.predictorSettings().get(e.setting())));
            }
        }
        return files;
    }
}

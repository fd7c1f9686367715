package dev.incontext.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunKind;
import dev.incontext.config.RunSpec;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.baselines.BaselineContext;
import dev.incontext.eval.baselines.Baselines;
import dev.incontext.model.InContextModel;
import dev.incontext.model.Predictor;
import dev.incontext.report.Reports;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.TrainedModel;
import dev.incontext.util.Devices;
import dev.incontext.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The sweep's own cells: {@link RunConfig} runs, evaluated against the task's baselines (eval.csv, eval.json) when
 * the sweep asks. A cell is complete when its final checkpoint is there. Metrics: {@code final_loss},
 * {@code final_excess_loss} (the last record of metrics.jsonl), {@code train_seconds} and {@code eval_<predictor>}
 * (the evaluation metric at the last position).
 */
public final class RegressionCells implements CellResults {
    private static final long serialVersionUID = 1L;

    @Override
    public RunKind kind() {
        return RunKind.REGRESSION;
    }

    @Override
    public RunSpec configure(RunSpec config) {
        Baselines.validate(((RunConfig) config).eval());
        return config;
    }

    @Override
    public boolean complete(RunSpec config, Path dir) {
        return config.training().saveEvery() == 0 || Files.isDirectory(Checkpoints.dir(dir)
                .resolve(String.format("step-%08d", (long) config.training().steps())));
    }

    @Override
    public LinkedHashMap<String, Double> finished(RunSpec spec, CellTraining.Result trained, Path dir,
            double trainSeconds, boolean evaluate) throws IOException {
        RunConfig config = (RunConfig) spec;
        LinkedHashMap<String, Double> metrics = finalMetrics(dir.resolve("metrics.jsonl"));
        metrics.put("train_seconds", trainSeconds);
        if (evaluate) {
            TrainedModel model = new TrainedModel(config, (InContextModel) trained.outcome().objective().model(),
                    trained.outcome().lastCheckpoint());
            metrics.putAll(evaluate(model, config, dir));
        }
        return metrics;
    }

    /** The evaluation the config asks for (eval.*): the model, least squares (regression), averaging and k-NN. */
    static Map<String, Double> evaluate(TrainedModel model, RunConfig c, Path dir) throws IOException {
        TaskSampler sampler = TaskSampler.forRun(c, Devices.float32(c.device()));
        List<Predictor> predictors = new ArrayList<>();
        predictors.add(model.model());
        var ctx = new BaselineContext(c.task(), sampler, c.seed());
        for (var spec : Baselines.forEval(c.task(), c.eval())) {
            predictors.add(spec.create(ctx));
        }
        Evaluation e = Evaluator.evaluate(predictors, sampler, c.eval().numPrompts(), c.eval().batchSize(),
                c.evalPoints(), c.seed());
        Reports.csv(e, dir.resolve("eval.csv"));
        Reports.json(e, dir.resolve("eval.json"));
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < e.curves().size(); i++) {
            Evaluation.Curve curve = e.curves().get(i);
            String name = i == 0 ? "model" : curve.predictor().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_")
                    .replaceAll("^_|_$", "");
            out.put("eval_" + name, curve.mean()[curve.mean().length - 1]);
        }
        return out;
    }

    /** final_loss and final_excess_loss: the last record of metrics.jsonl. */
    static LinkedHashMap<String, Double> finalMetrics(Path metricsFile) throws IOException {
        LinkedHashMap<String, Double> out = new LinkedHashMap<>();
        out.put("final_loss", Double.NaN);
        out.put("final_excess_loss", Double.NaN);
        if (!Files.exists(metricsFile)) {
            return out;
        }
        List<String> lines = Files.readAllLines(metricsFile, StandardCharsets.UTF_8);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String l = lines.get(i).strip();
            if (l.isEmpty()) {
                continue;
            }
            try {
                JsonNode m = Json.parse(l);
                out.put("final_loss", Json.number(m.get("loss")));
                out.put("final_excess_loss", Json.number(m.get("excess_loss")));
                break;
            } catch (IllegalArgumentException e) {
                // a torn last line: the record before it is the last one
            }
        }
        return out;
    }
}

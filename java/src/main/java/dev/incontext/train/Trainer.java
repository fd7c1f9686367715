package dev.incontext.train;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskKind;
import dev.incontext.config.RunConfig.TrainingConfig;
import dev.incontext.model.InContextModel;
import dev.incontext.model.Models;
import dev.incontext.util.Devices;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Trains an in-context learner: {@code Trainer.train(config) -> TrainedModel}. Each step draws a batch from the
 * task (a pure function of seed and step, at the curriculum's size for that step), computes the loss averaged over
 * positions (MSE; BCE with logits for classification), and takes an Adam/AdamW step at the scheduled learning rate,
 * with optional gradient clipping. Metrics go to {@code metrics.jsonl}, checkpoints to {@code checkpoints/}.
 * A NaN or infinite loss stops the run with a message naming the step.
 */
public final class Trainer {
    private final TrainingListener listener;

    public Trainer(TrainingListener listener) {
        this.listener = listener;
    }

    public Trainer() {
        this(new TrainingListener() {});
    }

    /** Trains from scratch into an empty (or absent) {@code out_dir}, or from {@code resumeFrom} when not null. */
    public TrainedModel train(RunConfig config, Path resumeFrom) throws IOException {
        return train(config, resumeFrom, false);
    }

    /**
     * Trains from scratch, or from {@code resumeFrom} (a checkpoint or run directory) when not null. A fresh run
     * refuses an {@code out_dir} that already holds a run's files unless {@code overwrite} is set, which deletes the
     * previous run's checkpoints, metrics and config first (nothing else in the directory). Nothing in
     * {@code out_dir} is changed before the resume's checkpoint has been verified and found compatible.
     */
    public TrainedModel train(RunConfig config, Path resumeFrom, boolean overwrite) throws IOException {
        if (resumeFrom != null && overwrite) {
            throw new IllegalArgumentException("resume and overwrite exclude each other: resuming continues the run "
                    + "in " + config.outDir() + ", overwriting deletes it");
        }
        Devices.threads(config.training().threads(), config.training().blasThreads());
        TensorOptions options = Devices.float32(config.device());
        Path runDir = Path.of(config.outDir());

        InContextModel model = Models.create(config, options);
        Optimizer optimizer = optimizer(config.training(), model.module().parameters());
        long start = 0;
        if (resumeFrom != null) {
            Checkpoints.Saved saved = Checkpoints.load(resumeFrom, listener::onNotice);
            List<String> diffs = Checkpoints.incompatibilities(saved.config(), config);
            if (!diffs.isEmpty()) {
                throw new CheckpointException(saved.dir(), "checkpoint " + saved.dir() + " was trained with a "
                        + "different configuration; refusing to resume. Differences: " + String.join("; ", diffs));
            }
            Checkpoints.loadModel(saved.dir(), model.module());
            Checkpoints.loadOptimizer(saved.dir(), optimizer);
            start = saved.step();
        } else {
            prepareFreshRunDir(runDir, overwrite);
        }
        Files.createDirectories(runDir);
        for (String done : Checkpoints.cleanStale(runDir)) {
            listener.onNotice(done);
        }
        writeAtomically(runDir.resolve("config.yaml"), ConfigLoader.toYaml(config));
        truncateMetrics(runDir.resolve("metrics.jsonl"), start);

        TrainingStep stepper = new TrainingStep(config, model, optimizer, options);
        TrainingConfig t = config.training();
        Path lastCheckpoint = null;
        long lastLogTime = System.nanoTime();
        long lastLogStep = start;
        try (BufferedWriter metrics = Files.newBufferedWriter(runDir.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            for (long step = start; step < t.steps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    TrainingStep.Result r = stepper.run(step);
                    boolean last = step == t.steps() - 1;
                    if (step % t.logEvery() == 0 || last) {
                        stepper.checkDivergence();
                        double value = r.loss().item_double();
                        long now = System.nanoTime();
                        double rate = step > lastLogStep ? (step - lastLogStep) / ((now - lastLogTime) / 1e9) : Double.NaN;
                        lastLogTime = now;
                        lastLogStep = step;
                        Double excess = excessLoss(config, value, r.dims(), r.points());
                        TrainingListener.TrainingLog log = new TrainingListener.TrainingLog(step, value,
                                r.learningRate(), r.dims(), r.points(), rate, excess);
                        metrics.write(log.toJson());
                        metrics.newLine();
                        metrics.flush();
                        listener.onLog(log);
                    }
                }
                listener.onStep(step + 1, t.steps());
                if (t.saveEvery() > 0 && ((step + 1) % t.saveEvery() == 0 || step + 1 == t.steps())) {
                    stepper.requireFiniteParameters(step);
                    Path p = Checkpoints.save(runDir, step + 1, config, model.module(), optimizer, t.keepCheckpoints());
                    lastCheckpoint = step + 1 == t.steps() ? p : null;
                    listener.onCheckpoint(p, step + 1);
                }
            }
        }
        stepper.checkDivergence();
        return new TrainedModel(config, model, lastCheckpoint);
    }

    /** The files a run writes into out_dir; their presence means the directory holds a run. */
    private static final List<String> RUN_FILES = List.of("checkpoints", "metrics.jsonl", "config.yaml");

    private static void prepareFreshRunDir(Path runDir, boolean overwrite) throws IOException {
        List<Path> found = new ArrayList<>();
        for (String f : RUN_FILES) {
            if (Files.exists(runDir.resolve(f))) {
                found.add(runDir.resolve(f));
            }
        }
        if (found.isEmpty()) {
            return;
        }
        if (!overwrite) {
            throw new IllegalArgumentException("out_dir " + runDir + " already holds a run (" + found.get(0)
                    + "); resume it with --resume " + runDir + ", choose another out_dir, or pass --overwrite to delete "
                    + "its checkpoints, metrics and config");
        }
        for (Path p : found) {
            Checkpoints.deleteTree(p);
        }
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static Optimizer optimizer(TrainingConfig t, TensorVector params) {
        return switch (t.optimizer()) {
            case ADAM -> {
                AdamOptions o = new AdamOptions(t.learningRate());
                setBetas(o.betas(), t);
                o.eps().put(t.eps());
                o.weight_decay().put(t.weightDecay());
                yield new Adam(params, o);
            }
            case ADAMW -> {
                AdamWOptions o = new AdamWOptions(t.learningRate());
                setBetas(o.betas(), t);
                o.eps().put(t.eps());
                o.weight_decay().put(t.weightDecay());
                yield new AdamW(params, o);
            }
        };
    }

    /**
     * Writes (beta1, beta2) into the options' std::tuple. libstdc++ lays a tuple out in reverse order, so the slot of
     * beta1 is found from the C++ defaults (0.9, 0.999) rather than assumed.
     */
    static void setBetas(org.bytedeco.javacpp.DoublePointer betas, TrainingConfig t) {
        int beta1Slot = betas.get(0) == 0.9 ? 0 : 1;
        if (betas.get(beta1Slot) != 0.9 || betas.get(1 - beta1Slot) != 0.999) {
            throw new IllegalStateException("unexpected layout of the Adam betas tuple: " + betas.get(0) + ", "
                    + betas.get(1));
        }
        betas.put(beta1Slot, t.beta1()).put(1 - beta1Slot, t.beta2());
    }

    static void setLearningRate(Optimizer optimizer, double lr) {
        OptimizerParamGroupVector groups = optimizer.param_groups();
        for (long i = 0; i < groups.size(); i++) {
            groups.get(i).options().set_lr(lr);
        }
    }

    /** Mean over batch and positions (or the last position only) of MSE, or of BCE with logits on (y + 1) / 2. */
    public static Tensor loss(Tensor preds, Tensor ys, boolean classification, boolean allPositions) {
        Tensor p = allPositions ? preds : preds.select(1, preds.size(1) - 1);
        Tensor y = allPositions ? ys : ys.select(1, ys.size(1) - 1);
        if (classification) {
            return torch.binary_cross_entropy_with_logits(p, y.add(new Scalar(1)).mul(new Scalar(0.5)));
        }
        return torch.mse_loss(p, y);
    }

    /**
     * Garg et al.'s excess loss: the loss over the expected loss of least squares on noiseless linear regression,
     * sum_{i<n} max(d - i, 0) / n. Logged for (sparse) linear regression only; 1 means "as good as OLS".
     */
    static Double excessLoss(RunConfig c, double loss, int dims, int points) {
        if (c.task().name() != TaskKind.LINEAR_REGRESSION) {
            return null;
        }
        double baseline = 0;
        for (int i = 0; i < points; i++) {
            baseline += Math.max(dims - i, 0);
        }
        baseline /= points;
        return baseline > 0 ? loss / (baseline * c.task().yScale() * c.task().yScale()) : null;
    }

    /**
     * On resume, drops the metric lines of steps the resumed run will log again. A torn last line (the process was
     * killed while writing it) is dropped; a garbled line elsewhere is refused, naming the file and line. The file is
     * rewritten atomically.
     */
    static void truncateMetrics(Path file, long fromStep) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        if (fromStep == 0) {
            Files.delete(file);
            return;
        }
        keepMetricsBefore(file, fromStep, 0, Trainer::stepOf);
    }

    /**
     * Keeps the first {@code headerLines} lines of a metrics file and the records of steps before {@code fromStep};
     * {@code stepOf} gives a record's step, or -1 for a line that is not a complete record. A bad last line is a
     * torn tail and dropped; a bad line elsewhere is refused, naming the file and line. Rewritten atomically.
     */
    static void keepMetricsBefore(Path file, long fromStep, int headerLines, java.util.function.ToLongFunction<String> stepOf)
            throws IOException {
        List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        List<String> keep = new ArrayList<>(lines.subList(0, Math.min(headerLines, lines.size())));
        for (int n = headerLines; n < lines.size(); n++) {
            String line = lines.get(n);
            if (line.isBlank()) {
                continue;
            }
            long s = stepOf.applyAsLong(line);
            if (s < 0) {
                if (n == lines.size() - 1) {
                    break;   // torn tail
                }
                throw new CheckpointException(file, file + " line " + (n + 1) + " is not a metrics record: '"
                        + (line.length() > 80 ? line.substring(0, 80) + "..." : line) + "'; fix or delete that line");
            }
            if (s < fromStep) {
                keep.add(line);
            }
        }
        writeAtomically(file, keep.isEmpty() ? "" : String.join("\n", keep) + "\n");
    }

    /** The step of a complete metrics.jsonl line, or -1 when the line is torn or not a record. */
    static long stepOf(String line) {
        String l = line.strip();
        int i = l.indexOf("\"step\":");
        if (!l.startsWith("{") || !l.endsWith("}") || i < 0) {
            return -1;
        }
        int j = i + 7;
        int k = j;
        while (k < l.length() && Character.isDigit(l.charAt(k))) {
            k++;
        }
        return k > j ? Long.parseLong(l.substring(j, k)) : -1;
    }
}

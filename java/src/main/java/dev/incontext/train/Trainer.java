package dev.incontext.train;

import dev.incontext.util.AtomicFiles;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TrainingConfig;
import dev.incontext.config.RunIdentity;
import dev.incontext.config.RunSpec;
import dev.incontext.model.InContextModel;
import dev.incontext.ops.Blas;
import dev.incontext.ops.NativeCache;
import dev.incontext.ops.Threads;
import dev.incontext.util.Devices;
import dev.incontext.util.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.TensorOptions;

/**
 * The one training loop, for every kind of run: {@code Trainer.train(config) -> TrainedModel} for regression,
 * {@link #train(Objective, Path, boolean)} for any {@link Objective}. Each step takes the objective's loss on the
 * step's batch (a pure function of seed and step) and an Adam/AdamW step at the scheduled learning rate, with
 * optional gradient clipping ({@link TrainingStep}); metrics go to {@code metrics.jsonl}, checkpoints to
 * {@code checkpoints/} every {@code save_every} steps (plus the steps the objective keeps), and a run continues
 * from a checkpoint bit for bit. A NaN or infinite loss stops the run with a message naming the step.
 */
public final class Trainer {
    private final TrainingListener listener;

    public Trainer(TrainingListener listener) {
        this.listener = listener;
    }

    public Trainer() {
        this(new TrainingListener() {});
    }

    /** What a training run ended with: its objective (the trained model in it), the final checkpoint and its pace. */
    public record Outcome(Objective objective, Path lastCheckpoint, long startStep, double stepsPerSecond) {
        /** The trained model's name for a user (e.g. {@code gpt2(3 layers, ...)}), or its class for a token model. */
        public String modelName() {
            return objective.model() instanceof dev.incontext.model.InContextModel m ? m.name()
                    : objective.model().getClass().getSimpleName();
        }
    }

    /** Trains from scratch into an empty (or absent) {@code out_dir}, or from {@code resumeFrom} when not null. */
    public TrainedModel train(RunConfig config, Path resumeFrom) throws IOException {
        return train(config, resumeFrom, false);
    }

    /** As {@link #train(Objective, Path, boolean)}, for a regression run; returns the trained model. */
    public TrainedModel train(RunConfig config, Path resumeFrom, boolean overwrite) throws IOException {
        Outcome o = train(prepare(config), resumeFrom, overwrite);
        return new TrainedModel(config, (InContextModel) o.objective().model(), o.lastCheckpoint());
    }

    /** Whether a run's training.blas that could not apply has been reported (once per process). */
    private static final java.util.concurrent.atomic.AtomicBoolean BLAS_NOTICE_GIVEN =
            new java.util.concurrent.atomic.AtomicBoolean();

    /** Applies the run's BLAS choice and thread counts, then builds its objective (and model) on its device. */
    public static Objective prepare(RunSpec config) {
        String notApplied = Blas.prefer(config.training().blas());   // before anything loads libtorch
        if (notApplied != null && BLAS_NOTICE_GIVEN.compareAndSet(false, true)) {
            System.err.println("incontext: " + notApplied + " (said once per process)");
        }
        NativeCache.prepare();   // loads libtorch (extraction into a cold cache takes turns with other JVMs)
        Threads.set(config.training().threads(), config.training().blasThreads());
        return Objective.of(config, Devices.float32(config.device()));
    }

    /**
     * Trains from scratch, or from {@code resumeFrom} (a checkpoint or run directory) when not null. A fresh run
     * refuses an {@code out_dir} that already holds a run's files unless {@code overwrite} is set, which deletes the
     * previous run's checkpoints, metrics and config first (nothing else in the directory). Nothing in
     * {@code out_dir} is changed before the resume's checkpoint has been verified and found compatible.
     */
    public Outcome train(Objective objective, Path resumeFrom, boolean overwrite) throws IOException {
        return train(objective, resumeFrom, overwrite, DataParallel.SINGLE);
    }

    /**
     * As {@link #train(Objective, Path, boolean)}, as one rank of a data-parallel run: every rank trains on its slice
     * of each step's batch and the gradients are averaged over the ranks ({@link DataParallel}); rank 0 alone writes
     * the run directory (config, metrics, checkpoints, evaluations) and holds its lock. Every rank starts from the
     * same state: a fresh run's (the model is initialised from the seed) or the same checkpoint's, checked across the
     * ranks before the first step. {@code training.world_size} must equal the group's size.
     */
    public Outcome train(Objective objective, Path resumeFrom, boolean overwrite, DataParallel parallel)
            throws IOException {
        RunSpec config = objective.config();
        if (config.training().worldSize() != parallel.worldSize()) {
            throw new IllegalArgumentException("training.world_size is " + config.training().worldSize() + " but "
                    + parallel.worldSize() + " rank(s) run: start the run with ./incontext train --nproc "
                    + config.training().worldSize() + " (or set training.world_size to the number of ranks)");
        }
        if (resumeFrom != null && overwrite) {
            throw new IllegalArgumentException("resume and overwrite exclude each other: resuming continues the run "
                    + "in " + config.outDir() + ", overwriting deletes it");
        }
        Threads.set(config.training().threads(), config.training().blasThreads());
        TensorOptions options = Devices.float32(config.device());
        Path runDir = Path.of(config.outDir());
        checkRunDir(runDir);
        refuseOldLayout(runDir);
        if (!parallel.writer()) {
            return train(objective, resumeFrom, overwrite, runDir, options, parallel);
        }
        try (RunLock lock = RunLock.acquire(runDir, "train")) {
            return train(objective, resumeFrom, overwrite, runDir, options, parallel);
        }
    }

    private Outcome train(Objective objective, Path resumeFrom, boolean overwrite, Path runDir, TensorOptions options,
            DataParallel parallel) throws IOException {
        RunSpec config = objective.config();
        boolean writer = parallel.writer();
        if (writer && !config.training().blas().equals("auto")) {
            listener.onNotice("matrix products on " + (Blas.isMkl() ? "MKL" : "OpenBLAS") + " (training.blas: "
                    + config.training().blas() + ")");
        }
        TrainingStep stepper = new TrainingStep(objective, TrainingStep.optimizer(objective), options, parallel);
        Module module = objective.model().module();
        long start = 0;
        if (resumeFrom != null) {
            Checkpoints.Saved saved = Checkpoints.load(resumeFrom, listener::onNotice);
            Path owner = Checkpoints.runDirOf(saved.dir());
            if (!sameFile(owner, runDir)) {
                throw new IllegalArgumentException("--resume " + resumeFrom + " continues the run in " + owner
                        + ", but out_dir is " + runDir + ": a resume writes into the run it continues. Pass out_dir="
                        + owner + " (or leave out_dir as that run's config has it)");
            }
            if (saved.step() >= config.training().steps()) {
                throw new IllegalArgumentException("checkpoint " + saved.dir() + " is at step " + saved.step()
                        + " and training.steps is " + config.training().steps() + ": nothing left to train. Raise "
                        + "training.steps to continue the run, or evaluate the checkpoint");
            }
            List<String> diffs = RunIdentity.differences(saved.config(), config);
            if (!diffs.isEmpty()) {
                throw new CheckpointException(saved.dir(), "checkpoint " + saved.dir() + " was trained with a "
                        + "different configuration; refusing to resume. Differences: " + String.join("; ", diffs));
            }
            Checkpoints.loadModel(saved.dir(), module);
            LossScaler.State scale = Checkpoints.loadTrainingState(saved.dir(), stepper.optimizer());
            if (stepper.lossScaler() != null) {
                if (scale == null) {
                    throw new CheckpointException(saved.dir(), "checkpoint " + saved.dir() + " of an fp16 run holds "
                            + "no loss-scale state in optimizer.pt; it can be evaluated but not resumed");
                }
                stepper.lossScaler().restore(scale);
            }
            start = saved.step();
        } else {
            if (writer || !overwrite) {   // the other ranks refuse as rank 0 does, and never delete
                prepareFreshRunDir(runDir, overwrite);
            }
        }
        // Every rank starts from the same step and parameters, or none starts.
        parallel.requireSame("the start step and a fingerprint of the parameters (each rank's initialisation "
                + "or checkpoint)", start, fingerprint(module.parameters()));
        // Everything that can refuse comes first: a refused resume leaves the run directory as it was.
        if (writer) {
            List<String> keptMetrics = metricsBefore(runDir.resolve("metrics.jsonl"), start);
            Files.createDirectories(runDir);
            for (String done : Checkpoints.cleanStale(runDir)) {
                listener.onNotice(done);
            }
            Path abandoned = Checkpoints.setAsideNewerThan(runDir, start);
            if (abandoned != null && start > 0) {
                listener.onNotice("resumed from step " + start + ": the newer checkpoints of the line it abandons "
                        + "are kept in " + abandoned + ", never used");
            }
            AtomicFiles.write(runDir.resolve("config.yaml"), ConfigLoader.toYaml((Record) config));
            AtomicFiles.write(runDir.resolve("metrics.jsonl"), keptMetrics.isEmpty() ? ""
                    : String.join("\n", keptMetrics) + "\n");
        }

        TrainingConfig t = config.training();
        Set<Long> kept = objective.keptCheckpoints();
        Path lastCheckpoint = null;
        long started = System.nanoTime();
        long lastLogTime = started;
        long lastLogStep = start;
        try (BufferedWriter metrics = writer ? Files.newBufferedWriter(runDir.resolve("metrics.jsonl"),
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND) : null) {
            for (long step = start; step < t.steps(); step++) {
                try (PointerScope scope = new PointerScope()) {
                    TrainingStep.Result r = stepper.run(step);
                    boolean last = step == t.steps() - 1;
                    boolean evaluate = writer && objective.evaluatesAfter(step, last);
                    if (writer && (step % t.logEvery() == 0 || last || evaluate)) {
                        stepper.checkDivergence();
                        double value = r.loss().item_double();
                        long now = System.nanoTime();
                        double rate = step > lastLogStep ? (step - lastLogStep) / ((now - lastLogTime) / 1e9) : Double.NaN;
                        lastLogTime = now;
                        lastLogStep = step;
                        Map<String, Object> fields = new LinkedHashMap<>(objective.logFields(step, value));
                        if (stepper.lossScaler() != null) {
                            fields.put("loss_scale", stepper.lossScaler().scale());
                        }
                        String summary = null;
                        if (evaluate) {
                            Objective.Evaluated e = stepper.evaluate(step);
                            fields.putAll(e.fields());
                            summary = e.summary();
                        }
                        TrainingListener.TrainingLog log = new TrainingListener.TrainingLog(step, value,
                                r.learningRate(), rate, fields);
                        metrics.write(Json.line(log.record()));
                        metrics.newLine();
                        metrics.flush();
                        listener.onLog(log);
                        if (summary != null) {
                            listener.onEvaluation(step, summary);
                        }
                    }
                }
                long done = step + 1;
                listener.onStep(done, t.steps());
                boolean due = t.saveEvery() > 0 && (done % t.saveEvery() == 0 || done == t.steps());
                if (writer && (due || kept.contains(done))) {
                    stepper.requireFiniteParameters(step);
                    Path p = Checkpoints.save(runDir, done, config, module, stepper.optimizer(),
                            stepper.lossScaler() == null ? null : stepper.lossScaler().state(), t.keepCheckpoints(),
                            kept);
                    lastCheckpoint = done == t.steps() ? p : null;
                    listener.onCheckpoint(p, done);
                }
            }
        }
        stepper.checkDivergence();
        double rate = t.steps() > start ? (t.steps() - start) / ((System.nanoTime() - started) / 1e9) : Double.NaN;
        return new Outcome(objective, lastCheckpoint, start, rate);
    }

    /**
     * A number that two different sets of parameters share only by coincidence (the float64 sum of each parameter's
     * values, each weighted by its index; equal parameters always share it), compared across the ranks before the
     * first step.
     */
    static double fingerprint(org.bytedeco.pytorch.TensorVector params) {
        double f = 0;
        for (long i = 0; i < params.size(); i++) {
            f += (i + 1) * params.get(i).detach().to(org.bytedeco.pytorch.global.torch.ScalarType.Double).sum()
                    .item_double();
        }
        return f;
    }

    /**
     * Modular runs before version 0.1 kept their state under {@code resume/} beside log-spaced checkpoints; this
     * version writes one checkpoint layout for every run and cannot continue those.
     */
    private static void refuseOldLayout(Path runDir) {
        if (Files.isDirectory(runDir.resolve("resume"))) {
            throw new IllegalArgumentException("out_dir " + runDir + " holds a modular run in the old layout "
                    + "(resume/ beside checkpoints/), which this version cannot continue; move or delete " + runDir
                    + " and run again (the run starts afresh and writes the layout every run has)");
        }
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


    /**
     * The metric lines of steps before {@code fromStep}, which a resumed run keeps (none for a fresh run). A torn last
     * line (the process was killed while writing it) is dropped; a garbled line elsewhere is refused, naming the
     * file and line. Reads only.
     */
    static List<String> metricsBefore(Path file, long fromStep) throws IOException {
        List<String> keep = new ArrayList<>();
        if (fromStep == 0 || !Files.exists(file)) {
            return keep;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n);
            if (line.isBlank()) {
                continue;
            }
            long s = stepOf(line);
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
        return keep;
    }

    /** Refuses, before any work, an out_dir that cannot be a run directory. */
    private static void checkRunDir(Path runDir) {
        Path abs = runDir.toAbsolutePath().normalize();
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw new IllegalArgumentException("out_dir " + runDir + " is a file, not a directory: choose another out_dir");
        }
        if (abs.getParent() == null || abs.equals(Path.of(System.getProperty("user.home")).toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("out_dir " + runDir + " is " + (abs.getParent() == null ? "the root "
                    + "directory" : "the home directory") + ": a run writes and may delete files there; choose a "
                    + "directory of its own");
        }
    }

    private static boolean sameFile(Path a, Path b) throws IOException {
        if (Files.exists(a) && Files.exists(b)) {
            return Files.isSameFile(a, b);
        }
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    /** The step of a complete metrics.jsonl record, or -1 when the line is torn or not a record. */
    static long stepOf(String line) {
        try {
            var node = Json.parse(line);
            var step = node == null ? null : node.get("step");
            return step != null && step.canConvertToLong() && step.isIntegralNumber() ? step.asLong() : -1;
        } catch (IllegalArgumentException e) {
            return -1;
        }
    }
}

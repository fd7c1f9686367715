package dev.incontext.train;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.config.RunConfig.TrainingConfig;
import dev.incontext.model.RopeDecoder;
import dev.incontext.tasks.ModularSampler;
import dev.incontext.tasks.ModularSampler.Split;
import dev.incontext.tasks.ModularTasks;
import dev.incontext.tasks.Rng;
import dev.incontext.tasks.TokenBatch;
import dev.incontext.util.Devices;
import dev.incontext.util.Tensors;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.LongPredicate;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Trains a {@link RopeDecoder} on modular arithmetic (He et al. 2024, papers.md §3.3): rows from the pre-training
 * tasks and training pairs, cross-entropy on the z tokens only, AdamW with weight decay on parameters of two or more
 * dimensions (the tied embedding optionally excluded), the config's schedule. Every {@code eval.every} steps and at
 * the last step it measures loss and accuracy at every shot on the four evaluation sets (the same rows each time),
 * appending to {@code metrics.jsonl} and to {@code metrics.tsv} in the reference's columns; checkpoints (model and
 * config) are written log-spaced between the end of warm-up and the last step, since the o.o.d. phase of deep models
 * can be transient. After every evaluation the whole state (weights, optimiser, step) goes to {@code resume/}; a run
 * started again on the same out_dir with the same config (thread counts aside) continues from there, and since the
 * data are a pure function of (seed, step), the continued run's metrics equal an uninterrupted run's on the same
 * machine with the same threads.
 */
public final class ModularTrainer {
    /** Largest number of rows evaluated in one forward pass (bounds memory at large widths). */
    private static final long EVAL_CHUNK = 256;

    private final Consumer<String> progress;

    public ModularTrainer(Consumer<String> progress) {
        this.progress = progress;
    }

    /**
     * The outcome: the final accuracy at every shot and the loss on each set, the sets and the trained model.
     *
     * @param accuracy per split, accuracy (n) at shot i = with i examples of the task before the query
     * @param startStep the step this execution started from: 0, or the step of the resume state it continued from
     */
    public record Result(ModularConfig config, ModularTasks tasks, RopeDecoder model, Map<Split, double[]> accuracy,
            Map<Split, Double> loss, double stepsPerSecond, long startStep) {
        public double lastShot(Split s) {
            double[] a = accuracy.get(s);
            return a[a.length - 1];
        }
    }

    /**
     * Trains into config.out_dir. When out_dir holds the resume state of an unfinished run with the same config, the
     * run continues from it; otherwise it starts afresh (metrics and checkpoints there are replaced).
     */
    public Result train(ModularConfig config) throws IOException {
        return train(config, step -> false);
    }

    /** As {@link #train(ModularConfig)}, but returns null before step {@code stopAt} (tests: an interruption). */
    Result train(ModularConfig config, long stopAt) throws IOException {
        return train(config, step -> step >= stopAt);
    }

    /**
     * As {@link #train(ModularConfig)}, but asks {@code stopBefore} before every step and returns null when it says
     * stop; the resume state of the last evaluation stays in out_dir, so a later run continues from there.
     */
    public Result train(ModularConfig config, LongPredicate stopBefore) throws IOException {
        TrainingConfig t = config.training();
        Devices.threads(t.threads(), t.blasThreads());
        TensorOptions options = Devices.float32(config.device());
        Path dir = Path.of(config.outDir());
        Files.createDirectories(dir);
        String yaml = ConfigLoader.toYaml(config);

        ModularTasks tasks = ModularTasks.of(config.task(), config.seed());
        ModularSampler sampler = new ModularSampler(tasks, config.task().pointsPerRow(), options);
        RopeDecoder model = new RopeDecoder(config.model(), config.task().vocabSize(),
                Rng.on(options, Rng.derive(config.seed(), Rng.Stream.INIT, 0)), options);
        AdamW optimizer = adamW(t, model, config.decayEmbeddings());
        Tensor zPositions = Tensors.keep(zPositions(config.task().pointsPerRow(), options));
        Step stepper = new Step(config, sampler, model, optimizer, zPositions, options);
        TreeSet<Long> checkpoints = logSpacedSteps(t.warmupSteps(), t.steps(), config.eval().nCheckpoints());

        Path resumeDir = dir.resolve("resume");
        Path state = latestState(resumeDir, config);
        long start = 0;
        if (state != null) {
            loadState(state, model, optimizer);
            start = Long.parseLong(Files.readString(state.resolve("step")).strip());
            progress.accept("resuming " + dir + " at step " + start);
            Trainer.keepMetricsBefore(dir.resolve("metrics.jsonl"), start, 0, Trainer::stepOf);
            if (!Files.exists(dir.resolve("metrics.tsv"))) {
                Files.writeString(dir.resolve("metrics.tsv"), tsvHeader() + "\n", StandardCharsets.UTF_8);
            }
            Trainer.keepMetricsBefore(dir.resolve("metrics.tsv"), start, 1, ModularTrainer::tsvStepOf);
        } else {
            Checkpoints.deleteTree(Checkpoints.dir(dir));
            Checkpoints.deleteTree(resumeDir);
            Files.deleteIfExists(dir.resolve("metrics.jsonl"));
            Files.writeString(dir.resolve("metrics.tsv"), tsvHeader() + "\n", StandardCharsets.UTF_8);
        }
        Files.writeString(dir.resolve("config.yaml"), yaml, StandardCharsets.UTF_8);

        Map<Split, double[]> accuracy = new EnumMap<>(Split.class);
        Map<Split, Double> loss = new EnumMap<>(Split.class);
        long started = System.nanoTime();
        try (BufferedWriter jsonl = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                BufferedWriter tsv = Files.newBufferedWriter(dir.resolve("metrics.tsv"), StandardCharsets.UTF_8,
                        java.nio.file.StandardOpenOption.APPEND)) {
            for (long step = start; step < t.steps(); step++) {
                if (stopBefore.test(step)) {
                    return null;
                }
                double trainLoss;
                double lr = Schedule.lr(t, step);
                boolean last = step == t.steps() - 1;
                boolean evaluate = step % config.eval().every() == 0 || last;
                try (PointerScope scope = new PointerScope()) {
                    Tensor l = stepper.run(step);
                    if (evaluate || step % t.logEvery() == 0) {
                        stepper.guard.check();
                        trainLoss = l.item_double();
                    } else {
                        trainLoss = Double.NaN;
                    }
                }
                if (evaluate) {
                    for (Split s : Split.values()) {
                        // The state after this step is what the next step starts from: name that step if it diverged.
                        double[] r = stepper.guard.forward(step + 1, model.module().parameters(),
                                () -> evaluate(model, sampler, s, config.eval().rows(),
                                        Rng.derive(config.seed(), Rng.Stream.EVAL, s.ordinal()), zPositions));
                        loss.put(s, r[0]);
                        accuracy.put(s, java.util.Arrays.copyOfRange(r, 1, r.length));
                    }
                    double rate = (step + 1 - start) / ((System.nanoTime() - started) / 1e9);
                    jsonl.write(json(step, lr, trainLoss, rate, loss, accuracy));
                    jsonl.newLine();
                    jsonl.flush();
                    tsv.write(tsvRow(step, loss, accuracy));
                    tsv.newLine();
                    tsv.flush();
                    progress.accept(String.format(Locale.ROOT, "step %d  loss %.4f  acc(last shot) id-train %.3f "
                            + "id-test %.3f ood-train %.3f ood-test %.3f  %.1f steps/s", step, trainLoss,
                            last(accuracy, Split.ID_TRAIN), last(accuracy, Split.ID_TEST),
                            last(accuracy, Split.OOD_TRAIN), last(accuracy, Split.OOD_TEST), rate));
                }
                if (checkpoints.contains(step + 1) || (evaluate && !last)) {
                    stepper.guard.requireFiniteParameters(step, model.module().parameters());
                }
                if (checkpoints.contains(step + 1)) {
                    // Log-spaced and all kept: the early ones hold the transient o.o.d. phase.
                    Checkpoints.save(dir, step + 1, config, model.module(), null, Integer.MAX_VALUE);
                }
                if (evaluate && !last) {
                    saveState(resumeDir, step + 1, yaml, model, optimizer);
                }
            }
        }
        if (accuracy.isEmpty()) {
            throw new IllegalStateException("out_dir " + dir + " holds a resume state at step " + start + " of "
                    + t.steps() + ": nothing left to train");
        }
        stepper.guard.check();
        Checkpoints.deleteTree(resumeDir);   // finished: a new run on this out_dir starts afresh
        double rate = (t.steps() - start) / ((System.nanoTime() - started) / 1e9);
        return new Result(config, tasks, model, accuracy, loss, rate, start);
    }

    /**
     * Times full training steps (sample a batch, forward, backward, AdamW step, read the loss) of a config's model:
     * returns the milliseconds of each of {@code steps} steps after {@code warmup} untimed ones. Nothing is written.
     */
    public static double[] timeSteps(ModularConfig config, int warmup, int steps) {
        TrainingConfig t = config.training();
        Devices.threads(t.threads(), t.blasThreads());
        TensorOptions options = Devices.float32(config.device());
        ModularTasks tasks = ModularTasks.of(config.task(), config.seed());
        ModularSampler sampler = new ModularSampler(tasks, config.task().pointsPerRow(), options);
        RopeDecoder model = new RopeDecoder(config.model(), config.task().vocabSize(),
                Rng.on(options, Rng.derive(config.seed(), Rng.Stream.INIT, 0)), options);
        Step stepper = new Step(config, sampler, model, adamW(t, model, config.decayEmbeddings()),
                Tensors.keep(zPositions(config.task().pointsPerRow(), options)), options);
        double[] ms = new double[steps];
        for (int i = 0; i < warmup + steps; i++) {
            try (PointerScope scope = new PointerScope()) {
                long t0 = System.nanoTime();
                stepper.run(i).item_double();   // the trainer's own step; reading the loss waits for it
                if (i >= warmup) {
                    ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        return ms;
    }

    /**
     * One training step, the only one for token tasks: the batch of the step (a pure function of seed and step),
     * the scheduled learning rate, cross-entropy on the z tokens, the divergence check, backward, clipping and the
     * AdamW step. {@link #train} loops over it and {@link #timeSteps} times it.
     */
    private static final class Step {
        private final ModularConfig config;
        private final ModularSampler sampler;
        private final RopeDecoder model;
        private final AdamW optimizer;
        private final Tensor zPositions;
        private final TensorOptions options;
        final DivergenceGuard guard;

        Step(ModularConfig config, ModularSampler sampler, RopeDecoder model, AdamW optimizer, Tensor zPositions,
                TensorOptions options) {
            this.config = config;
            this.sampler = sampler;
            this.model = model;
            this.optimizer = optimizer;
            this.zPositions = zPositions;
            this.options = options;
            this.guard = new DivergenceGuard(!options.device().is_cpu(), config.training().learningRate());
        }

        /** Runs step {@code step} inside the caller's PointerScope and returns its loss (not read back). */
        Tensor run(long step) {
            TrainingConfig t = config.training();
            TokenBatch batch = sampler.sample(Split.ID_TRAIN, t.batchSize(),
                    Rng.on(options, Rng.derive(config.seed(), Rng.Stream.DATA, step)));
            Trainer.setLearningRate(optimizer, Schedule.lr(t, step));
            optimizer.zero_grad();
            Tensor l = guard.forward(step, model.module().parameters(), () -> loss(model, batch, zPositions));
            guard.observe(step, l);   // on the CPU: stops before the optimiser sees a non-finite loss
            l.backward();
            if (t.gradClip() > 0) {
                torch.clip_grad_norm_(model.module().parameters(), t.gradClip());
            }
            optimizer.step();
            return l;
        }
    }

    private static double last(Map<Split, double[]> acc, Split s) {
        double[] a = acc.get(s);
        return a[a.length - 1];
    }

    /** Input positions 3i + 1 (the y of example i), where the model predicts z_i. */
    public static Tensor zPositions(int points, TensorOptions options) {
        long[] idx = new long[points];
        for (int i = 0; i < points; i++) {
            idx[i] = 3L * i + 1;
        }
        return torch.tensor(idx).to(options.device(), torch.ScalarType.Long);
    }

    /** Logits (B, n, V) at the z predictions of a batch: the head is applied to those positions only. */
    public static Tensor zLogits(RopeDecoder model, TokenBatch batch, Tensor zPositions) {
        return model.logits(torch.index_select(model.hidden(batch.inputs()), 1, zPositions));
    }

    /** Mean cross-entropy over the z tokens of a batch. */
    public static Tensor loss(RopeDecoder model, TokenBatch batch, Tensor zPositions) {
        Tensor logits = zLogits(model, batch, zPositions);
        long v = logits.size(2);
        return torch.cross_entropy(logits.reshape(-1, v), batch.z().reshape(-1));
    }

    /**
     * Loss and accuracy at every shot on {@code rows} rows of a split drawn from a fixed seed: returns
     * {loss, acc_0, ..., acc_(n-1)}.
     */
    public static double[] evaluate(RopeDecoder model, ModularSampler sampler, Split split, int rows, long seed,
            Tensor zPositions) {
        int n = sampler.points();
        double[] out = new double[n + 1];
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            TokenBatch all = sampler.sample(split, rows, Rng.on(zPositions.options(), seed));
            Tensor correct = torch.zeros(new long[] {n}, zPositions.options().dtype(
                    new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Double)));
            double lossSum = 0;
            for (long from = 0; from < rows; from += EVAL_CHUNK) {
                long len = Math.min(EVAL_CHUNK, rows - from);
                TokenBatch b = new TokenBatch(all.inputs().narrow(0, from, len), all.z().narrow(0, from, len),
                        all.tasks().narrow(0, from, len), all.pairs().narrow(0, from, len));
                Tensor logits = zLogits(model, b, zPositions);
                lossSum += torch.cross_entropy(logits.reshape(-1, logits.size(2)), b.z().reshape(-1)).item_double()
                        * len;
                correct = correct.add(logits.argmax(new org.bytedeco.pytorch.LongOptional(2), false).eq(b.z())
                        .to(torch.ScalarType.Double).sum(new long[] {0}, false,
                                new org.bytedeco.pytorch.ScalarTypeOptional()));
            }
            double[] c = Tensors.toDoubleArray(correct);
            out[0] = lossSum / rows;
            for (int i = 0; i < n; i++) {
                out[i + 1] = c[i] / rows;
            }
        }
        return out;
    }

    /**
     * AdamW over two parameter groups: parameters with two or more dimensions decay (the tied embedding only when
     * {@code decayEmbeddings}), the rest (LayerNorm weights and biases) do not.
     */
    static AdamW adamW(TrainingConfig t, RopeDecoder model, boolean decayEmbeddings) {
        List<Tensor> decay = new ArrayList<>();
        List<Tensor> noDecay = new ArrayList<>();
        TensorVector params = model.module().parameters();
        for (long i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            boolean embedding = p.is_same(model.embedding());
            (p.dim() >= 2 && (decayEmbeddings || !embedding) ? decay : noDecay).add(p);
        }
        AdamWOptions o = new AdamWOptions(t.learningRate());
        Trainer.setBetas(o.betas(), t);
        o.eps().put(t.eps());
        o.weight_decay().put(t.weightDecay());
        OptimizerParamGroupVector groups = new OptimizerParamGroupVector(
                new OptimizerParamGroup(new TensorVector(decay.toArray(new Tensor[0]))),
                new OptimizerParamGroup(new TensorVector(noDecay.toArray(new Tensor[0]))));
        AdamW optimizer = new AdamW(groups, o);
        // Groups given without options receive a copy of the defaults, an AdamWOptions (libtorch's
        // Optimizer::add_param_group); the second group's copy is switched to no decay.
        new AdamWOptions(optimizer.param_groups().get(1).options()).weight_decay().put(0.0);
        return optimizer;
    }

    /** The weight decay each parameter group of an optimiser built by {@link #adamW} applies. */
    static double groupWeightDecay(AdamW optimizer, int group) {
        return new AdamWOptions(optimizer.param_groups().get(group).options()).weight_decay().get();
    }

    /**
     * n steps log-spaced between max(1, warm-up) and the last step, rounded and made unique (so possibly fewer than
     * n at short runs); the last step is always included when n > 0.
     */
    public static TreeSet<Long> logSpacedSteps(long warmup, long total, int n) {
        TreeSet<Long> out = new TreeSet<>();
        if (n <= 0 || total <= 0) {
            return out;
        }
        double lo = Math.log(Math.max(1, Math.min(warmup, total)));
        double hi = Math.log(total);
        for (int i = 0; i < n; i++) {
            double f = n == 1 ? 1.0 : (double) i / (n - 1);
            out.add(Math.max(1, Math.min(total, Math.round(Math.exp(lo + f * (hi - lo))))));
        }
        out.add(total);
        return out;
    }

    /** A trained model read back from a checkpoint directory written by {@link #train}: its config and weights. */
    public record Loaded(ModularConfig config, RopeDecoder model) {}

    /**
     * Loads {@code checkpoints/step-N/} of a modular run onto the CPU (for analysis: attention maps, per-shot
     * accuracy at an early step). Fails naming the file when the directory is not such a checkpoint.
     */
    public static Loaded load(Path checkpoint) throws IOException {
        Checkpoints.verify(checkpoint);   // meta.yaml and SHA-256 sums, as for regression checkpoints
        ModularConfig c = ConfigLoader.modularFromYaml(Files.readString(checkpoint.resolve("config.yaml"),
                StandardCharsets.UTF_8));
        TensorOptions o = Devices.float32("cpu");
        RopeDecoder m = new RopeDecoder(c.model(), c.task().vocabSize(), Rng.cpu(0), o);
        org.bytedeco.pytorch.InputArchive a = new org.bytedeco.pytorch.InputArchive();
        a.load_from(checkpoint.resolve("model.pt").toString());
        m.module().load(a);
        return new Loaded(c, m);
    }

    /**
     * The newest complete resume state (a {@code step-N} directory holding {@code done}) saved with this config, or
     * null. Thread counts do not count: they change how fast a run goes (and perhaps the last bits of a sum), not
     * what it trains, and a sweep sets them by how many cells run side by side.
     */
    private static Path latestState(Path resumeDir, ModularConfig config) throws IOException {
        if (!Files.isDirectory(resumeDir)) {
            return null;
        }
        String key = withoutThreads(config);
        Path best = null;
        long bestStep = -1;
        try (var dirs = Files.list(resumeDir)) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                String name = d.getFileName().toString();
                if (!name.startsWith("step-") || !Files.exists(d.resolve("done"))) {
                    continue;
                }
                long step = Long.parseLong(name.substring(5));
                if (step > bestStep && key.equals(savedWithoutThreads(d.resolve("config.yaml")))) {
                    best = d;
                    bestStep = step;
                }
            }
        }
        return best;
    }

    private static String withoutThreads(ModularConfig c) {
        return ConfigLoader.toYaml(ConfigLoader.withOverrides(c,
                List.of("training.threads=0", "training.blas_threads=0")));
    }

    /** A resume state's config as {@link #withoutThreads}, or null when it is no longer a valid config. */
    private static String savedWithoutThreads(Path configYaml) throws IOException {
        try {
            return withoutThreads(ConfigLoader.modularFromYaml(Files.readString(configYaml, StandardCharsets.UTF_8)));
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static void loadState(Path state, RopeDecoder model, AdamW optimizer) {
        org.bytedeco.pytorch.InputArchive m = new org.bytedeco.pytorch.InputArchive();
        m.load_from(state.resolve("model.pt").toString());
        model.module().load(m);
        org.bytedeco.pytorch.InputArchive o = new org.bytedeco.pytorch.InputArchive();
        o.load_from(state.resolve("optimizer.pt").toString());
        optimizer.load(o);
    }

    /** Writes step-N complete (the {@code done} marker last), then deletes older states. */
    private static void saveState(Path resumeDir, long step, String yaml, RopeDecoder model, AdamW optimizer)
            throws IOException {
        Path d = resumeDir.resolve(String.format("step-%010d", step));
        Checkpoints.deleteTree(d);
        Files.createDirectories(d);
        OutputArchive m = new OutputArchive();
        model.module().save(m);
        m.save_to(d.resolve("model.pt").toString());
        OutputArchive o = new OutputArchive();
        optimizer.save(o);
        o.save_to(d.resolve("optimizer.pt").toString());
        Files.writeString(d.resolve("config.yaml"), yaml, StandardCharsets.UTF_8);
        Files.writeString(d.resolve("step"), Long.toString(step), StandardCharsets.UTF_8);
        Files.writeString(d.resolve("done"), "", StandardCharsets.UTF_8);
        try (var dirs = Files.list(resumeDir)) {
            for (Path old : (Iterable<Path>) dirs::iterator) {
                if (!old.equals(d)) {
                    Checkpoints.deleteTree(old);
                }
            }
        }
    }

    /** Keeps the metric lines of steps before {@code start} (and a TSV's header); drops the rest. */
    /** The step of a complete metrics.tsv record (as many columns as the header), or -1. */
    static long tsvStepOf(String line) {
        String[] f = line.split("\t", -1);
        boolean complete = f.length == TSV_COLUMNS && f[0].matches("\\d+") && !f[f.length - 1].isEmpty();
        return complete ? Long.parseLong(f[0]) : -1;
    }

    private static final int TSV_COLUMNS = tsvHeader().split("\t", -1).length;

    static String tsvHeader() {
        StringBuilder s = new StringBuilder("step");
        for (Split sp : Split.values()) {
            s.append('\t').append(sp.column).append("_loss\t").append(sp.column).append("_acc\t").append(sp.column)
                    .append("_acc_last");
        }
        return s.toString();
    }

    private static String tsvRow(long step, Map<Split, Double> loss, Map<Split, double[]> acc) {
        StringBuilder s = new StringBuilder().append(step);
        for (Split sp : Split.values()) {
            double[] a = acc.get(sp);
            s.append(String.format(Locale.ROOT, "\t%.6f\t%.6f\t%.6f", loss.get(sp), mean(a), a[a.length - 1]));
        }
        return s.toString();
    }

    private static String json(long step, double lr, double trainLoss, double rate, Map<Split, Double> loss,
            Map<Split, double[]> acc) {
        StringBuilder s = new StringBuilder("{\"step\":").append(step).append(",\"lr\":").append(lr)
                .append(",\"train_batch_loss\":").append(trainLoss).append(",\"steps_per_s\":")
                .append(String.format(Locale.ROOT, "%.3f", rate));
        for (Split sp : Split.values()) {
            double[] a = acc.get(sp);
            s.append(",\"").append(sp.column).append("\":{\"loss\":").append(loss.get(sp)).append(",\"acc\":")
                    .append(mean(a)).append(",\"acc_last\":").append(a[a.length - 1]).append(",\"acc_per_shot\":[");
            for (int i = 0; i < a.length; i++) {
                s.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.5f", a[i]));
            }
            s.append("]}");
        }
        return s.append('}').toString();
    }

    static double mean(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s / a.length;
    }
}

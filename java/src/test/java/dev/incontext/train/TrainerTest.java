package dev.incontext.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.ops.Autocast;
import dev.incontext.ops.Ops;
import dev.incontext.util.Tensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    private PointerScope scope;
    private int threadsBefore;

    @BeforeEach
    void open() {
        scope = new PointerScope();
        threadsBefore = torch.get_num_threads();
    }

    @AfterEach
    void close() {
        scope.close();
        torch.set_num_threads(threadsBefore);
    }

    /** A small, fast run: 1 layer, width 16, d = 5, 11 points, one thread (bit-reproducible), loss logged each step. */
    static RunConfig tiny(Path out, String... more) {
        List<String> o = new ArrayList<>(List.of("model.preset=custom", "model.n_layer=1", "model.n_head=2",
                "model.n_embd=16", "training.steps=10", "training.log_every=1", "training.save_every=0",
                "training.threads=1", "training.batch_size=16", "seed=1234", "out_dir=" + out));
        o.addAll(List.of(more));
        return ConfigLoader.load(RunConfig.class, "demo", o);
    }

    static class Losses implements TrainingListener {
        final List<Double> values = new ArrayList<>();

        @Override
        public void onLog(TrainingLog log) {
            values.add(log.loss());
        }
    }

    static List<Double> train(RunConfig c, Path resume) throws IOException {
        Losses l = new Losses();
        new Trainer(l).train(c, resume);
        return l.values;
    }

    /**
     * Relative tolerance of the golden check. The stored losses were written on one machine; another CPU runs the
     * same recipe through other kernels (OpenBLAS and ATen pick per instruction set, the attention op picks AVX2 or
     * portable), which reorder float32 sums, so a loss can differ in its last bits and ten Adam steps carry that
     * forward. Measured over 30 such variations (ATen capability x OpenBLAS core type x attention ISA,
     * benchmarks/results/golden-portability.md): at most 1.7e-7 relative, one or two float32 ulps. 1e-5 leaves a
     * margin of about 60x and stays far below a real change of the recipe: the swapped Adam betas this check once
     * caught move the losses by 1.5e-3 (asserted below to exceed 10x the tolerance).
     */
    static final double GOLDEN_RTOL = 1e-5;

    /**
     * Golden test: a tiny model with a fixed seed trains 10 steps; its losses match the stored values within
     * {@link #GOLDEN_RTOL} on any x86-64 machine. (Bit-exactness is promised, and tested, within one machine:
     * {@link #sameSeedSameLosses}, {@link #resumeIsBitIdentical}.)
     */
    @Test
    void goldenLosses(@TempDir Path dir) throws IOException {
        List<Double> golden = goldenValues();
        assertEquals(10, golden.size());
        List<Double> losses = train(tiny(dir.resolve("run")), null);
        double worst = maxRelativeDeviation(losses, golden);
        System.out.printf("golden losses: max relative deviation %.2e over 10 steps (tolerance %.0e); attention CPU "
                + "kernel %s%n", worst, GOLDEN_RTOL, Ops.attentionCpuIsa());
        for (int i = 0; i < 10; i++) {
            double rel = Math.abs(losses.get(i) - golden.get(i)) / Math.abs(golden.get(i));
            assertTrue(rel <= GOLDEN_RTOL, "step " + i + ": got " + losses.get(i) + ", golden " + golden.get(i)
                    + " (relative deviation " + rel + " > " + GOLDEN_RTOL + ")");
        }
        assertTrue(losses.get(9) < losses.get(0), "the loss should fall over 10 steps: " + losses);
        // The tolerance must still catch a real change of the recipe, such as the Adam-betas swap it once caught.
        List<Double> swapped = train(tiny(dir.resolve("swapped"), "training.beta1=0.999", "training.beta2=0.9"), null);
        double swapDeviation = maxRelativeDeviation(swapped, golden);
        assertTrue(swapDeviation > 10 * GOLDEN_RTOL, "swapping the Adam betas moves the losses by only "
                + swapDeviation + ": the golden tolerance " + GOLDEN_RTOL + " would not catch it");
    }

    static List<Double> goldenValues() throws IOException {
        List<Double> golden = new ArrayList<>();
        try (InputStream in = TrainerTest.class.getResourceAsStream("golden-losses.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    golden.add(Double.longBitsToDouble(Long.parseUnsignedLong(line.trim().split("\\s+")[0], 16)));
                }
            }
        }
        return golden;
    }

    static double maxRelativeDeviation(List<Double> got, List<Double> golden) {
        double worst = 0;
        for (int i = 0; i < golden.size(); i++) {
            worst = Math.max(worst, Math.abs(got.get(i) - golden.get(i)) / Math.abs(golden.get(i)));
        }
        return worst;
    }

    @Test
    void sameSeedSameLosses(@TempDir Path dir) throws IOException {
        assertEquals(train(tiny(dir.resolve("a")), null), train(tiny(dir.resolve("b")), null));
    }

    /** Resuming from a checkpoint continues exactly like the uninterrupted run (bit-identical losses on the CPU). */
    @Test
    void resumeIsBitIdentical(@TempDir Path dir) throws IOException {
        List<Double> straight = train(tiny(dir.resolve("straight"), "training.steps=16"), null);
        Path run = dir.resolve("interrupted");
        List<Double> first = train(tiny(run, "training.steps=8", "training.save_every=4"), null);
        assertTrue(Files.isDirectory(run.resolve("checkpoints/step-00000008")));
        List<Double> second = train(tiny(run, "training.steps=16", "training.save_every=4"), run);
        List<Double> joined = new ArrayList<>(first);
        joined.addAll(second);
        assertEquals(straight, joined);
        long metricLines = Files.readAllLines(run.resolve("metrics.jsonl")).size();
        assertEquals(16, metricLines, "metrics.jsonl holds each step once after the resume");
    }

    /**
     * Low-precision losses against float32's over the same 16 steps: different (equal bit for bit would mean autocast
     * did nothing), within 5% each (more would mean a broken step), and falling.
     */
    private static void assertLowPrecisionLosses(String precision, List<Double> f32, List<Double> low) {
        assertNotEquals(f32, low, precision + " losses equal float32's bit for bit: autocast did not reach the model");
        for (int i = 0; i < f32.size(); i++) {
            double rel = Math.abs(low.get(i) - f32.get(i)) / f32.get(i);
            assertTrue(rel < 0.05, "step " + i + ": " + precision + " loss " + low.get(i) + " vs float32 " + f32.get(i));
        }
        assertTrue(low.get(15) < low.get(0), "the " + precision + " loss should fall: " + low);
    }

    /** The losses of a 16-step tiny run in {@code precision} trained to step 8, then resumed from its checkpoint. */
    private static List<Double> interruptedAtStep8(Path run, String precision) throws IOException {
        List<Double> joined = new ArrayList<>(train(tiny(run, "training.steps=8", "training.save_every=4",
                "training.precision=" + precision), null));
        joined.addAll(train(tiny(run, "training.steps=16", "training.save_every=4", "training.precision=" + precision),
                run));
        return joined;
    }

    /**
     * training.precision=fp16: float16 forward passes under autocast with dynamic loss scaling, on any CPU (emulated
     * where it lacks hardware float16, said once). The losses differ from float32's by float16 rounding (not at all
     * would mean autocast did nothing; by more than 5% a broken step), the loss falls, the scale is logged, checkpoints
     * hold float32 weights and the scale, and a resume continues bit for bit. A checkpoint's loss-scale state after
     * an overflow (a scale the run would not have at the start) round-trips through Checkpoints.
     */
    @Test
    void fp16TrainsWithLossScalingAndResumesBitIdentically(@TempDir Path dir) throws IOException {
        List<Double> f32 = train(tiny(dir.resolve("f32"), "training.steps=16", "training.save_every=16"), null);
        RunConfig straightConfig = tiny(dir.resolve("straight"), "training.steps=16", "training.save_every=16",
                "training.precision=fp16");
        List<Double> straight = train(straightConfig, null);
        assertEquals(RunConfig.Precision.FP16, TrainingStep.fresh(straightConfig).precision());
        assertLowPrecisionLosses("fp16", f32, straight);
        // Each record names the scale after its step: 2^16 halved once per overflow so far (this tiny model's float16
        // weight gradients overflow at 2^16 in its first steps, as they would under GradScaler), never growing within
        // the 2000-step growth interval.
        double previous = 65536.0;
        java.util.regex.Pattern scale = java.util.regex.Pattern.compile("\"loss_scale\":([0-9.E]+)");
        for (String record : Files.readAllLines(dir.resolve("straight/metrics.jsonl"))) {
            java.util.regex.Matcher m = scale.matcher(record);
            assertTrue(m.find(), "the record names the loss scale: " + record);
            double v = Double.parseDouble(m.group(1));
            assertTrue(v == previous || v == previous / 2, "scale " + v + " after " + previous + ": " + record);
            previous = v;
        }
        assertFalse(Files.readAllLines(dir.resolve("f32/metrics.jsonl")).get(15).contains("loss_scale"),
                "float32 records carry no loss scale");
        assertEquals(Files.size(dir.resolve("f32/checkpoints/step-00000016/model.pt")),
                Files.size(dir.resolve("straight/checkpoints/step-00000016/model.pt")),
                "checkpoints hold float32 weights");

        assertEquals(straight, interruptedAtStep8(dir.resolve("interrupted"), "fp16"),
                "an fp16 resume continues bit for bit");

        TrainingStep step = TrainingStep.fresh(straightConfig);
        step.lossScaler().restore(new LossScaler.State(1024.0, 7));
        Path saved = Checkpoints.save(dir.resolve("state"), 3, straightConfig, step.model().module(),
                step.optimizer(), step.lossScaler().state(), 1, java.util.Set.of());
        assertEquals(new LossScaler.State(1024.0, 7), Checkpoints.loadTrainingState(saved, step.optimizer()));
        Path plain = Checkpoints.save(dir.resolve("plain"), 3, straightConfig, step.model().module(),
                step.optimizer(), 1, java.util.Set.of());
        assertEquals(null, Checkpoints.loadTrainingState(plain, step.optimizer()),
                "a checkpoint without a loss scale reads as none");
    }

    /**
     * training.precision=bf16: on a CPU with hardware bfloat16 the forward passes run under autocast (the step says
     * so), the losses differ from float32's by bfloat16 rounding (not at all would mean autocast did nothing; by more
     * than 5% would mean a broken step), the loss falls, checkpoints stay float32, and a resume continues bit for bit.
     * On a CPU without it the run falls back to float32 and gives float32's losses exactly.
     */
    @Test
    void bf16TrainsAndResumesBitIdentically(@TempDir Path dir) throws IOException {
        List<Double> f32 = train(tiny(dir.resolve("f32"), "training.steps=16", "training.save_every=16"), null);
        RunConfig straightConfig = tiny(dir.resolve("straight"), "training.steps=16", "training.precision=bf16");
        List<Double> straight = train(straightConfig, null);
        if (!Autocast.cpuHasBf16()) {
            assertEquals(RunConfig.Precision.FLOAT32, TrainingStep.fresh(straightConfig).precision(),
                    "no hardware bfloat16: the step runs float32");
            assertEquals(f32, straight, "the float32 fallback trains exactly as float32");
            return;
        }
        assertEquals(RunConfig.Precision.BF16, TrainingStep.fresh(straightConfig).precision());
        assertLowPrecisionLosses("bf16", f32, straight);
        Path run = dir.resolve("interrupted");
        assertEquals(straight, interruptedAtStep8(run, "bf16"), "a bf16 resume continues bit for bit");
        // float32 weights: the checkpoint's model file is as large as the float32 run's (bfloat16 would halve it).
        assertEquals(Files.size(dir.resolve("f32/checkpoints/step-00000016/model.pt")),
                Files.size(run.resolve("checkpoints/step-00000016/model.pt")), "checkpoints hold float32 weights");
    }

    /**
     * A corrupted checkpoint named explicitly is refused, naming the file; resuming a run directory whose newest
     * checkpoint is corrupted falls back to the newest valid one and says so.
     */
    @Test
    void corruptedCheckpointIsRefusedOrSkipped(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        train(tiny(run, "training.save_every=5"), null);
        Path model = run.resolve("checkpoints/step-00000010/model.pt");
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length / 2] ^= 0x5A;
        Files.write(model, bytes);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> train(tiny(run, "training.steps=12", "training.save_every=5"), run.resolve("checkpoints/step-00000010")));
        assertTrue(e.getMessage().contains("is corrupted: model.pt does not match its SHA-256"), e.getMessage());
        assertEquals(model, e.path());

        List<String> notices = new ArrayList<>();
        Losses losses = new Losses() {
            @Override
            public void onNotice(String message) {
                notices.add(message);
            }
        };
        new Trainer(losses).train(tiny(run, "training.steps=12", "training.save_every=5"), run);
        assertEquals(7, losses.values.size(), "resumed from step 5: " + notices);
        assertTrue(notices.stream().anyMatch(n -> n.contains("step-00000010") && n.contains("corrupted")), notices.toString());
        assertTrue(notices.stream().anyMatch(n -> n.contains("newest valid checkpoint")), notices.toString());
    }

    @Test
    void mismatchedCheckpointIsRefused(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        train(tiny(run, "training.save_every=5"), null);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> train(tiny(run, "model.n_embd=32", "training.steps=12"), run));
        assertTrue(e.getMessage().contains("model.n_embd (saved: 16, now: 32)"), e.getMessage());
    }

    /** libstdc++ stores std::tuple in reverse order; the betas must land in the right slots. */
    @Test
    void adamBetasReachTheRightSlots() {
        var t = tiny(Path.of("unused"), "training.beta1=0.8", "training.beta2=0.95").training();
        AdamOptions defaults = new AdamOptions(1e-3);
        int beta1Slot = defaults.betas().get(0) == 0.9 ? 0 : 1;
        AdamOptions o = new AdamOptions(1e-3);
        Optimizers.setBetas(o.betas(), t);
        assertEquals(0.8, o.betas().get(beta1Slot));
        assertEquals(0.95, o.betas().get(1 - beta1Slot));
    }

    /** The scheduled rate reaches the optimiser: Adam's first step moves each weight by about lr. */
    @Test
    void learningRateReachesTheOptimiser() {
        var p = torch.ones(3).requires_grad_(true);
        var opt = Optimizers.build(tiny(Path.of("unused")).training(), List.of(p), List.of());
        Optimizers.setLearningRate(opt, 0.25);
        p.sum().backward();
        opt.step();
        assertEquals(0.75, p.select(0, 0).item_double(), 1e-6);
    }

    @Test
    void divergenceStopsWithAClearMessage(@TempDir Path dir) {
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> train(tiny(dir, "training.learning_rate=1e6", "training.steps=40"), null));
        assertTrue(e.getMessage().matches("training diverged at step \\d+ \\((loss (inf|nan|-inf)|the parameters are "
                + "no longer finite.*)\\); lower training.learning_rate \\(now 1000000.0\\) or set training.grad_clip"),
                e.getMessage());
    }

    /**
     * A non-finite loss stops the run at the step where it appears, not at the next logged step, and no checkpoint
     * ever holds non-finite parameters: for the project's attention op, SDPA and the linear self-attention model.
     */
    @Test
    void divergenceStopsAtItsStepAndIsNeverSaved(@TempDir Path dir) throws IOException {
        String[][] models = {{"model.attention=incontext"}, {"model.attention=sdpa"},
            {"model.family=lsa", "model.encoding=concat"}};
        for (String[] m : models) {
            Path run = dir.resolve(m[0].replace('=', '-'));
            List<String> o = new ArrayList<>(List.of(m));
            o.addAll(List.of("training.learning_rate=1e30", "training.steps=60", "training.log_every=1000",
                    "training.save_every=1", "training.keep_checkpoints=100"));
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                    () -> train(tiny(run, o.toArray(String[]::new)), null), String.join(" ", m));
            assertTrue(e.step() < 59, m[0] + ": diverged only at the last step? " + e.getMessage());
            List<Path> saved = Checkpoints.list(run);
            assertTrue(saved.size() <= e.step() + 1, m[0] + ": " + saved.size() + " checkpoints for a run that "
                    + "diverged at step " + e.step());
            for (Path ckpt : saved) {
                TrainedModel loaded = TrainedModel.load(ckpt);
                TensorVector params = loaded.model().module().parameters();
                for (long i = 0; i < params.size(); i++) {
                    assertTrue(Tensors.allFinite(params.get(i)), m[0] + ": " + ckpt
                            + " holds non-finite parameters");
                }
            }
        }
    }

    /** On a GPU the guard records the first bad step on the device; the same logic, run on the CPU. */
    @Test
    void deferredDivergenceGuardNamesTheFirstBadStep() {
        DivergenceGuard guard = new DivergenceGuard(true, 0.5);
        double[] losses = {3.0, 2.0, Double.POSITIVE_INFINITY, Double.NaN, 1.0};
        for (int step = 0; step < losses.length; step++) {
            guard.observe(step, torch.scalar_tensor(new Scalar(losses[step])));
            if (step < 2) {
                guard.check();
            }
        }
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, guard::check);
        assertEquals(2, e.step());
        assertTrue(e.getMessage().startsWith("training diverged at step 2 (loss inf); lower training.learning_rate "
                + "(now 0.5)"), e.getMessage());
    }

    /** Finite task pools and finite prompt sets live across the trainer's per-step scopes (they used to crash). */
    @Test
    void finitePoolsTrain(@TempDir Path dir) throws IOException {
        List<Double> tasks = train(tiny(dir.resolve("tasks"), "task.num_tasks=16", "training.steps=30"), null);
        List<Double> prompts = train(tiny(dir.resolve("prompts"), "task.num_training_examples=40",
                "training.steps=30"), null);
        assertEquals(30, tasks.size());
        assertEquals(30, prompts.size());
        for (double v : tasks) {
            assertTrue(Double.isFinite(v));
        }
        // The pool is drawn once: training on it twice from scratch gives the same losses.
        assertEquals(tasks, train(tiny(dir.resolve("tasks2"), "task.num_tasks=16", "training.steps=30"), null));
    }

    /**
     * eval.n_checkpoints keeps log-spaced checkpoints of a regression run beside the newest save_every ones, for
     * evaluating its history afterwards (Raventós et al.'s transients).
     */
    @Test
    void regressionRunsKeepLogSpacedCheckpoints(@TempDir Path dir) throws IOException {
        train(tiny(dir, "training.steps=40", "training.save_every=20", "training.keep_checkpoints=1",
                "training.warmup_steps=2", "eval.n_checkpoints=4"), null);
        List<Long> steps = new ArrayList<>();
        for (Path p : Checkpoints.list(dir)) {
            steps.add(Long.parseLong(p.getFileName().toString().substring("step-".length())));
        }
        // Log-spaced 2, 5, 15, 40 (2 * 20^(i/3), rounded), and the newest regular save_every checkpoint beside them.
        assertEquals(List.of(2L, 5L, 15L, 40L), new ArrayList<>(Checkpoints.logSpacedSteps(2, 40, 4)));
        assertEquals(List.of(2L, 5L, 15L, 20L, 40L), steps.stream().sorted().toList());
        // Without the key only the newest save_every checkpoint stays.
        train(tiny(dir.resolve("plain"), "training.steps=40", "training.save_every=20", "training.keep_checkpoints=1"),
                null);
        assertEquals(1, Checkpoints.list(dir.resolve("plain")).size());
    }

    @Test
    void freshRunRefusesAUsedOutDirUnlessOverwriting(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        train(tiny(run, "training.save_every=5"), null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> train(tiny(run), null));
        assertTrue(e.getMessage().contains("already holds a run") && e.getMessage().contains("--overwrite"),
                e.getMessage());
        assertTrue(Files.isDirectory(run.resolve("checkpoints/step-00000010")), "the refusal deleted nothing");
        Losses l = new Losses();
        new Trainer(l).train(tiny(run, "training.steps=4", "training.save_every=2"), null, true);
        assertEquals(List.of(run.resolve("checkpoints/step-00000002"), run.resolve("checkpoints/step-00000004")),
                Checkpoints.list(run), "overwrite removes the old run's checkpoints");
        assertEquals(4, Files.readAllLines(run.resolve("metrics.jsonl")).size());
    }

    @Test
    void refusedResumeLeavesTheRunUntouched(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        train(tiny(run, "training.save_every=5"), null);
        byte[] config = Files.readAllBytes(run.resolve("config.yaml"));
        byte[] metrics = Files.readAllBytes(run.resolve("metrics.jsonl"));
        assertThrows(CheckpointException.class, () -> train(tiny(run, "model.n_embd=32", "training.steps=12"), run));
        assertEquals(new String(config, StandardCharsets.UTF_8),
                Files.readString(run.resolve("config.yaml")), "config.yaml was overwritten by a refused resume");
        assertEquals(new String(metrics, StandardCharsets.UTF_8), Files.readString(run.resolve("metrics.jsonl")));
    }

    /** A run killed while writing metrics.jsonl leaves a torn last line; resuming drops it and carries on. */
    @Test
    void resumeToleratesATornMetricsLine(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        train(tiny(run, "training.steps=8", "training.save_every=4"), null);
        Path metrics = run.resolve("metrics.jsonl");
        Files.writeString(metrics, "{\"step\":8,\"loss\":5.12", StandardOpenOption.APPEND);   // torn, no newline
        train(tiny(run, "training.steps=12", "training.save_every=4"), run);
        List<String> lines = Files.readAllLines(metrics);
        assertEquals(12, lines.size(), String.join("\n", lines));
        for (int i = 0; i < 12; i++) {
            assertTrue(lines.get(i).startsWith("{\"step\":" + i + ","), lines.get(i));
        }
        // Garbage in the middle is not a torn tail: refused, naming the file and line, and nothing is changed.
        List<String> broken = new ArrayList<>(lines);
        broken.set(3, "#garbage");
        Files.write(metrics, broken);
        String config = Files.readString(run.resolve("config.yaml"));
        List<String> files = listing(run);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> train(tiny(run, "training.steps=14", "training.save_every=4", "training.log_every=2"), run));
        assertTrue(e.getMessage().contains("metrics.jsonl line 4"), e.getMessage());
        assertEquals(broken, Files.readAllLines(metrics));
        assertEquals(config, Files.readString(run.resolve("config.yaml")), "config.yaml changed by a refused resume");
        assertEquals(files, listing(run), "files appeared or went");
    }

    /** Every file under a run directory with its size, but the lock (which only names its last holder). */
    static List<String> listing(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            List<String> out = new ArrayList<>();
            for (Path p : paths.sorted().toList()) {
                if (!p.getFileName().toString().equals(".lock")) {
                    out.add(dir.relativize(p) + (Files.isRegularFile(p) ? " " + Files.size(p) : ""));
                }
            }
            return out;
        }
    }

    @Test
    void checkpointLoadsIntoAPredictor(@TempDir Path dir) throws IOException {
        RunConfig c = tiny(dir, "training.save_every=10");
        TrainedModel trained = new Trainer().train(c, null);
        TrainedModel loaded = TrainedModel.load(dir);
        var xs = Tensors.randn(torch.ScalarType.Float, 3, 11, 5);
        var ys = Tensors.randn(torch.ScalarType.Float, 3, 11);
        assertEquals(0.0, Tensors.maxAbsDiff(trained.predict(xs, ys), loaded.predict(xs, ys)));
        assertEquals(c, loaded.config());
    }
}

package dev.incontext.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
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
        return ConfigLoader.load("demo", o);
    }

    static final class Losses implements TrainingListener {
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

    /** Golden test: a tiny model with a fixed seed trains 10 steps; its losses equal the stored values bit for bit. */
    @Test
    void goldenLosses(@TempDir Path dir) throws IOException {
        List<Double> losses = train(tiny(dir), null);
        List<Double> golden = new ArrayList<>();
        try (InputStream in = getClass().getResourceAsStream("golden-losses.txt")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    golden.add(Double.longBitsToDouble(Long.parseUnsignedLong(line.trim().split("\\s+")[0], 16)));
                }
            }
        }
        assertEquals(10, golden.size());
        for (int i = 0; i < 10; i++) {
            assertEquals(Double.doubleToLongBits(golden.get(i)), Double.doubleToLongBits(losses.get(i)),
                    "step " + i + ": got " + losses.get(i) + ", golden " + golden.get(i));
        }
        assertTrue(losses.get(9) < losses.get(0), "the loss should fall over 10 steps: " + losses);
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

    @Test
    void corruptedCheckpointIsRefused(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        train(tiny(run, "training.save_every=5"), null);
        Path model = run.resolve("checkpoints/step-00000010/model.pt");
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length / 2] ^= 0x5A;
        Files.write(model, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> train(tiny(run, "training.steps=12", "training.save_every=5"), run));
        assertTrue(e.getMessage().contains("is corrupted: model.pt does not match its SHA-256"), e.getMessage());
        // The older checkpoint is intact and can be named explicitly.
        train(tiny(run, "training.steps=12", "training.save_every=5"), run.resolve("checkpoints/step-00000005"));
    }

    @Test
    void mismatchedCheckpointIsRefused(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        train(tiny(run, "training.save_every=5"), null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> train(tiny(run, "model.n_embd=32", "training.steps=12"), run));
        assertTrue(e.getMessage().contains("model.n_embd (checkpoint: 16, now: 32)"), e.getMessage());
    }

    /** libstdc++ stores std::tuple in reverse order; the betas must land in the right slots. */
    @Test
    void adamBetasReachTheRightSlots() {
        var t = tiny(Path.of("unused"), "training.beta1=0.8", "training.beta2=0.95").training();
        org.bytedeco.pytorch.AdamOptions defaults = new org.bytedeco.pytorch.AdamOptions(1e-3);
        int beta1Slot = defaults.betas().get(0) == 0.9 ? 0 : 1;
        org.bytedeco.pytorch.AdamOptions o = new org.bytedeco.pytorch.AdamOptions(1e-3);
        Trainer.setBetas(o.betas(), t);
        assertEquals(0.8, o.betas().get(beta1Slot));
        assertEquals(0.95, o.betas().get(1 - beta1Slot));
    }

    /** The scheduled rate reaches the optimiser: Adam's first step moves each weight by about lr. */
    @Test
    void learningRateReachesTheOptimiser() {
        var p = torch.ones(3).requires_grad_(true);
        var opt = Trainer.optimizer(tiny(Path.of("unused")).training(), new org.bytedeco.pytorch.TensorVector(p));
        Trainer.setLearningRate(opt, 0.25);
        p.sum().backward();
        opt.step();
        assertEquals(0.75, p.select(0, 0).item_double(), 1e-6);
    }

    @Test
    void divergenceStopsWithAClearMessage(@TempDir Path dir) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> train(tiny(dir, "training.learning_rate=1e12", "training.steps=40"), null));
        assertTrue(e.getMessage().contains("training diverged: the loss is"), e.getMessage());
    }

    @Test
    void checkpointLoadsIntoAPredictor(@TempDir Path dir) throws IOException {
        RunConfig c = tiny(dir, "training.save_every=10");
        TrainedModel trained = new Trainer().train(c, null);
        TrainedModel loaded = TrainedModel.load(dir);
        var xs = dev.incontext.util.Tensors.randn(torch.ScalarType.Float, 3, 11, 5);
        var ys = dev.incontext.util.Tensors.randn(torch.ScalarType.Float, 3, 11);
        assertEquals(0.0, dev.incontext.util.Tensors.maxAbsDiff(trained.predict(xs, ys), loaded.predict(xs, ys)));
        assertEquals(c, loaded.config());
    }
}

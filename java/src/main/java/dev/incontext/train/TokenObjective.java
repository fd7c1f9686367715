package dev.incontext.train;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.model.RopeDecoder;
import dev.incontext.tasks.ModularSampler;
import dev.incontext.tasks.ModularSampler.Split;
import dev.incontext.tasks.ModularTasks;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TokenBatch;
import dev.incontext.util.Devices;
import dev.incontext.util.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Token sequences of modular arithmetic (He et al. 2024, papers.md §3.3) on a {@link RopeDecoder}: rows from the
 * pre-training tasks and training pairs, cross-entropy on the z tokens only; weight decay on parameters of two or more
 * dimensions (the tied embedding only when {@code decay_embeddings}). Every {@code eval.every} steps and at the last
 * step it measures loss and accuracy at every shot on the four evaluation sets (the same rows each time); the
 * {@code eval.n_checkpoints} log-spaced checkpoints between the end of warm-up and the last step are kept, since the
 * o.o.d. phase of deep models can be transient.
 */
public final class TokenObjective implements Objective {
    /** Largest number of rows evaluated in one forward pass (bounds memory at large widths). */
    private static final long EVAL_CHUNK = 256;

    private final ModularConfig config;
    private final ModularTasks tasks;
    private final ModularSampler sampler;
    private final RopeDecoder model;
    private final Tensor zPositions;
    private final TensorOptions options;
    private Map<Split, double[]> accuracy = Map.of();
    private Map<Split, Double> splitLoss = Map.of();

    TokenObjective(ModularConfig config, TensorOptions options) {
        this.config = config;
        this.options = options;
        this.tasks = ModularTasks.of(config.task(), config.seed());
        this.sampler = new ModularSampler(tasks, config.task().pointsPerRow(), options);
        this.model = new RopeDecoder(config.model(), config.task().vocabSize(),
                Rng.on(options, Rng.derive(config.seed(), Rng.Stream.INIT, 0)), options);
        this.zPositions = Tensors.keep(zPositions(config.task().pointsPerRow(), options));
    }

    /**
     * A token run's checkpoint directory read back onto the CPU, for analysis (attention maps, accuracy at an early
     * step): its config (device cpu) and trained weights. Refuses anything but a valid checkpoint of a token run,
     * naming the file.
     */
    public static TokenObjective load(Path checkpoint) throws IOException {
        ModularConfig saved = Checkpoints.inspect(checkpoint).tokens();
        ModularConfig c = saved.device().equals("cpu") ? saved
                : ConfigLoader.withOverrides(saved, List.of("device=cpu"));
        TokenObjective o = new TokenObjective(c, Devices.float32("cpu"));
        Checkpoints.loadModel(checkpoint, o.model.module());
        o.model.module().eval();
        return o;
    }

    @Override
    public ModularConfig config() {
        return config;
    }

    @Override
    public RopeDecoder model() {
        return model;
    }

    public ModularTasks tasks() {
        return tasks;
    }

    public ModularSampler sampler() {
        return sampler;
    }

    /** Accuracy at every shot per split, from the latest evaluation (empty before the first). */
    public Map<Split, double[]> accuracy() {
        return accuracy;
    }

    /** Loss per split, from the latest evaluation (empty before the first). */
    public Map<Split, Double> splitLoss() {
        return splitLoss;
    }

    /** Matrices decay; vectors (LayerNorm) do not, nor the tied embedding unless {@code decay_embeddings}. */
    @Override
    public List<Tensor> noDecay() {
        List<Tensor> out = new ArrayList<>();
        TensorVector params = model.module().parameters();
        for (long i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p.dim() < 2 || (!config.decayEmbeddings() && p.is_same(model.embedding()))) {
                out.add(p);
            }
        }
        return out;
    }

    @Override
    public Tensor loss(long step, Shard shard) {
        int rows = config.training().batchSize();
        TokenBatch batch = sampler.sample(Split.ID_TRAIN, rows, Rng.on(options, Rng.derive(config.seed(),
                Rng.Stream.DATA, step)));
        if (!shard.whole()) {
            batch = batch.rows(shard.start(rows), shard.size(rows));
        }
        return loss(model, batch, zPositions);
    }

    @Override
    public Map<String, Object> logFields(long step, double loss) {
        return Map.of();
    }

    @Override
    public boolean evaluatesAfter(long step, boolean last) {
        return step % config.eval().every() == 0 || last;
    }

    @Override
    public Evaluated evaluate(long step) {
        Map<Split, double[]> acc = new EnumMap<>(Split.class);
        Map<Split, Double> loss = new EnumMap<>(Split.class);
        Map<String, Object> fields = new LinkedHashMap<>();
        for (Split s : Split.values()) {
            double[] r = evaluate(model, sampler, s, config.eval().rows(),
                    Rng.derive(config.seed(), Rng.Stream.EVAL, s.ordinal()), zPositions);
            double[] perShot = Arrays.copyOfRange(r, 1, r.length);
            loss.put(s, r[0]);
            acc.put(s, perShot);
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("loss", r[0]);
            f.put("acc", mean(perShot));
            f.put("acc_last", perShot[perShot.length - 1]);
            f.put("acc_per_shot", perShot);
            fields.put(s.column, f);
        }
        accuracy = Collections.unmodifiableMap(acc);
        splitLoss = Collections.unmodifiableMap(loss);
        String summary = String.format(Locale.ROOT, "step %d  acc(last shot) id-train %.3f id-test %.3f "
                + "ood-train %.3f ood-test %.3f", step, last(acc, Split.ID_TRAIN), last(acc, Split.ID_TEST),
                last(acc, Split.OOD_TRAIN), last(acc, Split.OOD_TEST));
        return new Evaluated(fields, summary);
    }

    @Override
    public Set<Long> keptCheckpoints() {
        return Checkpoints.logSpacedSteps(config.training().warmupSteps(), config.training().steps(),
                config.eval().nCheckpoints());
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

    /** Mean cross-entropy over the z tokens of a batch, in float32 (a bf16 forward pass's logits are widened). */
    public static Tensor loss(RopeDecoder model, TokenBatch batch, Tensor zPositions) {
        Tensor logits = zLogits(model, batch, zPositions).to(torch.ScalarType.Float);
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
                    new ScalarTypeOptional(torch.ScalarType.Double)));
            double lossSum = 0;
            for (long from = 0; from < rows; from += EVAL_CHUNK) {
                long len = Math.min(EVAL_CHUNK, rows - from);
                TokenBatch b = new TokenBatch(all.inputs().narrow(0, from, len), all.z().narrow(0, from, len),
                        all.tasks().narrow(0, from, len), all.pairs().narrow(0, from, len));
                Tensor logits = zLogits(model, b, zPositions);
                lossSum += torch.cross_entropy(logits.reshape(-1, logits.size(2)), b.z().reshape(-1)).item_double()
                        * len;
                correct = correct.add(logits.argmax(new LongOptional(2), false).eq(b.z())
                        .to(torch.ScalarType.Double).sum(new long[] {0}, false, new ScalarTypeOptional()));
            }
            double[] c = Tensors.toDoubleArray(correct);
            out[0] = lossSum / rows;
            for (int i = 0; i < n; i++) {
                out[i + 1] = c[i] / rows;
            }
        }
        return out;
    }

    static double mean(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s / a.length;
    }
}

package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.ops.Ops;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A 2-layer ReLU network trained by gradient descent on each prefix (Garg et al.'s GDModel): f(x) = W2 relu(W1 x +
 * b1) + b2 with {@code hidden} units and the task's input size, PyTorch's default nn.Linear initialisation
 * (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), Adam at {@code lr} for {@code steps} steps on the mean
 * squared error of a minibatch of {@code batchSize} points drawn without replacement from the prefix (all of it when
 * the prefix is smaller). One independent net per (prompt, prefix k), predicting at the query of position k; 0 at k =
 * 0. The reference's defaults: hidden 100, lr 5e-3, 100 steps, minibatch 100.
 *
 * <p>All B (n - 1) nets train at once, in float32. Minibatches are the m = min(batchSize, k) smallest of uniform
 * scores over the net's k points (no draw is needed when every prefix fits in a minibatch, n - 1 &lt;= batchSize).
 * Randomness (initialisation and minibatches) comes from a generator seeded with {@code seed}, so a batch gives the
 * same predictions every time. Two implementations of the same nets, draws and updates ({@link Kernel}):
 * <ul>
 *   <li>on the CPU, the relu_net ops ({@code Ops.reluNetAdamStep}): one fused pass per net and step that runs the
 *       forward pass, the gradient and libtorch's Adam update over the net's own minibatch rows only, with its
 *       parameters in cache. Cost: 2 d hidden multiply-adds per (net, minibatch row) and step, B (n - 1)^2 / 2 rows
 *       per step with full minibatches (about 1.3e9 at B = 64, n = 101, d = 20): about 1.5 s per 16 prompts of 101
 *       points on two shared cores, 17x the tensor path in the same run (bench-eval --reference);</li>
 *   <li>on other devices, and as the {@link #reference()}, batched tensors: the nets of one prompt share its rows, so
 *       their first layer is one (n - 1, d) x (d, (n - 1) hidden) product per prompt; each net's loss masks the rows
 *       outside its minibatch, the per-net losses are summed (Adam is element-wise, so each net's update is exactly its
 *       own), and libtorch's autograd and Adam do the rest. Cost: every net computes every row, masked or not, plus a
 *       dozen element-wise passes per step over B (n - 1)^2 hidden activations; prompts go in chunks so that one
 *       activation tensor stays within {@value #ACTIVATION_BUDGET} floats.</li>
 * </ul>
 * The two differ only in the order of floating-point sums: their predictions agree to about 2e-4 of the prediction
 * scale after 100 steps (Adam turns rounding-level differences in near-zero gradients into full steps).
 * Memory: B (n - 1) (d + 4) hidden floats for the nets and their Adam state. The query path costs the same.
 */
public record ReluNetGD(int hidden, double lr, int steps, int batchSize, long seed) implements Accelerated {
    public ReluNetGD {
        if (hidden < 1 || steps < 1 || batchSize < 1 || !(lr > 0)) {
            throw new IllegalArgumentException("gd_relu_net: hidden, steps and batch size must be >= 1 and lr > 0; got "
                    + hidden + ", " + steps + ", " + batchSize + ", " + lr);
        }
    }

    /** The reference's settings: hidden 100, Adam lr 5e-3, 100 steps, minibatch 100. */
    public static ReluNetGD garg(long seed) {
        return new ReluNetGD(100, 5e-3, 100, 100, seed);
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        return train(batch, queries).predictions();
    }

    @Override
    public String name() {
        return "2-layer NN (GD)";
    }

    /** The same nets trained with libtorch's tensor ops, autograd and Adam on any device ({@link Kernel#TENSOR_OPS}). */
    @Override
    public Predictor reference() {
        return Predictor.of(name() + ", tensor ops", (batch, queries) -> train(batch, queries, Kernel.TENSOR_OPS)
                .predictions());
    }

    /**
     * What training gave: predictions (B, n) in the batch's dtype, and each net's mean squared error over its whole
     * prefix before and after training ((B, n - 1) float32, net k - 1 trained on the first k points).
     */
    public record Trained(Tensor predictions, Tensor initialLoss, Tensor finalLoss) {}

    /** Trains all the nets of a batch and predicts at {@code queries} (null: the prompt's own x's). */
    public Trained train(PromptBatch batch, Tensor queries) {
        return train(batch, queries, batch.xs().device().is_cpu() ? Kernel.FUSED_CPU : Kernel.TENSOR_OPS);
    }

    /**
     * How the nets are trained: the same nets, initialisation, minibatches and Adam either way; the two differ only
     * in the order of floating-point sums (tested to agree).
     */
    enum Kernel {
        /** The relu_net ops: one fused forward, backward and Adam pass per net and step (CPU only). */
        FUSED_CPU,
        /** libtorch's batched products, element-wise ops, autograd and Adam: any device. */
        TENSOR_OPS
    }

    Trained train(PromptBatch batch, Tensor queries, Kernel kernel) {
        Tensor q = PrefixMoments.queries(batch, queries);
        long b = batch.batchSize();
        long n = batch.points();
        var f32 = batch.xs().options().dtype(new ScalarTypeOptional(torch.ScalarType.Float));
        Tensor pred = torch.zeros(new long[] {b, n}, f32);
        Tensor initial = torch.zeros(new long[] {b, Math.max(0, n - 1)}, f32);
        Tensor fin = torch.zeros(new long[] {b, Math.max(0, n - 1)}, f32);
        if (n >= 2) {
            Generator gen = Rng.on(f32, Rng.derive(seed, Rng.Stream.INIT, 0x4e4e));
            long perPrompt = (n - 1) * (n - 1) * (long) hidden;
            long chunk = Math.max(1, Math.min(b, ACTIVATION_BUDGET / perPrompt));
            try (AutoGradMode grad = new AutoGradMode(true)) {
                for (long start = 0; start < b; start += chunk) {
                    long len = Math.min(chunk, b - start);
                    try (PointerScope scope = new PointerScope()) {
                        // Clones: the batch may hold inference-mode tensors, which autograd cannot save.
                        Tensor x = batch.xs().narrow(0, start, len).to(torch.ScalarType.Float).clone();
                        Tensor y = batch.ys().narrow(0, start, len).to(torch.ScalarType.Float).clone();
                        Tensor qc = q.narrow(0, start, len).to(torch.ScalarType.Float);
                        Tensor[] r = trainChunk(x, y, qc, gen, f32, kernel);
                        pred.narrow(0, start, len).narrow(1, 1, n - 1).copy_(r[0]);
                        initial.narrow(0, start, len).copy_(r[1]);
                        fin.narrow(0, start, len).copy_(r[2]);
                    }
                }
            }
        }
        return new Trained(PrefixMoments.finish(pred, batch, name()), initial, fin);
    }

    /** Elements of one (prompts, rows, nets, hidden) activation tensor per chunk of prompts (64 MiB of floats). */
    static final long ACTIVATION_BUDGET = 1L << 24;

    /**
     * Trains the nets of a chunk of prompts: x (C, n, d), y (C, n), queries (C, n, d), float32. Net i of prompt c
     * (i = 0 .. n - 2) learns from the first i + 1 points. The nets of one prompt share its rows, so the first layer
     * of all of them is one (n - 1, d) x (d, (n - 1) hidden) product per prompt, and each net's loss masks the rows
     * outside its minibatch. Returns {predictions at positions 1 .. n - 1, initial and final prefix errors}, each
     * (C, n - 1).
     */
    private Tensor[] trainChunk(Tensor x, Tensor y, Tensor queries, Generator gen, TensorOptions f32, Kernel kernel) {
        long c = x.size(0);
        long n = x.size(1);
        long d = x.size(2);
        long r = n - 1;                       // rows: the points 0 .. n-2 any net may use
        long nets = n - 1;                    // net i uses rows j <= i
        long m = Math.min(batchSize, r);
        var o = Rng.opt(gen);
        Tensor w1 = uniform(new long[] {c, d, nets, hidden}, 1 / Math.sqrt(d), o, f32);
        Tensor b1 = uniform(new long[] {c, 1, nets, hidden}, 1 / Math.sqrt(d), o, f32);
        Tensor w2 = uniform(new long[] {c, 1, nets, hidden}, 1 / Math.sqrt(hidden), o, f32);
        Tensor b2 = uniform(new long[] {c, 1, nets}, 1 / Math.sqrt(hidden), o, f32);
        if (kernel == Kernel.FUSED_CPU) {
            return trainFused(x, y, queries, o, f32, w1, b1, w2, b2);
        }
        Adam adam = new Adam(new TensorVector(w1, b1, w2, b2), new AdamOptions(lr));
        Tensor rows = x.narrow(1, 0, r);
        Tensor targets = y.narrow(1, 0, r).unsqueeze(2);                                   // (C, r, 1)
        Tensor valid = torch.triu(torch.ones(new long[] {r, nets}, f32)).unsqueeze(0);     // row j <= net i
        Tensor initial;
        try (var ng = new AutoGradMode(false)) {
            initial = meanError(forwardRows(rows, w1, b1, w2, b2), targets, valid.expand(c, r, nets));
        }
        for (int step = 0; step < steps; step++) {
            try (PointerScope scope = new PointerScope()) {   // frees each step's activations
                Tensor mask = valid;
                if (m < r) {
                    // Each net's minibatch: the m smallest of uniform scores over its rows (others scored out).
                    Tensor outside = valid.squeeze(0).t().eq(new Scalar(0)).unsqueeze(0);              // (1, nets, r)
                    Tensor scores = torch.rand(new long[] {c, nets, r}, o, f32).masked_fill(outside, new Scalar(2.0));
                    var top = torch.topk(scores, m, 2, false, false);
                    Tensor chosen = top.get0().lt(new Scalar(2.0)).to(torch.ScalarType.Float);
                    mask = torch.zeros(new long[] {c, nets, r}, f32).scatter(2, top.get1(), chosen).transpose(1, 2);
                }
                Tensor loss = meanError(forwardRows(rows, w1, b1, w2, b2), targets, mask.expand(c, r, nets));
                adam.zero_grad();
                loss.sum().backward();
                adam.step();
            }
        }
        try (var ng = new AutoGradMode(false)) {
            Tensor fin = meanError(forwardRows(rows, w1, b1, w2, b2), targets, valid.expand(c, r, nets));
            // Net i predicts at the query of position i + 1.
            Tensor qn = queries.narrow(1, 1, nets).reshape(c * nets, 1, d);
            Tensor w1n = w1.permute(0, 2, 1, 3).reshape(c * nets, d, hidden);
            Tensor h = torch.bmm(qn, w1n).view(c, nets, hidden).add(b1.squeeze(1)).relu();
            Tensor pred = h.mul(w2.squeeze(1)).sum(new long[] {2}, false, null).add(b2.squeeze(1));
            return new Tensor[] {pred.detach(), initial, fin};
        }
    }

    /**
     * {@link #trainChunk} on the relu_net ops: the parameters drawn there are packed into one block per net, and each
     * step is one pass of the fused kernel over every net's minibatch rows (forward, backward and libtorch's Adam
     * update), with the minibatches drawn from the generator exactly as the tensor path draws them.
     */
    private Tensor[] trainFused(Tensor x, Tensor y, Tensor queries, GeneratorOptional o, TensorOptions f32,
            Tensor w1, Tensor b1, Tensor w2, Tensor b2) {
        long c = x.size(0);
        long n = x.size(1);
        long d = x.size(2);
        long r = n - 1;
        long nets = n - 1;
        long m = Math.min(batchSize, r);
        long dh = d * hidden;
        Tensor params;
        try (var ng = new AutoGradMode(false)) {
            params = torch.cat(new TensorVector(
                    w1.detach().permute(0, 2, 1, 3).reshape(c, nets, dh),
                    b1.detach().squeeze(1), w2.detach().squeeze(1), b2.detach().squeeze(1).unsqueeze(2)), 2)
                    .contiguous();
        }
        Tensor expAvg = torch.zeros_like(params);
        Tensor expAvgSq = torch.zeros_like(params);
        Tensor rows = x.narrow(1, 0, r).contiguous();
        Tensor targets = y.narrow(1, 0, r).contiguous();
        // Net i learns from rows j <= i: (nets, r) lower triangle, the transpose of the tensor path's (r, nets) mask.
        Tensor outside = torch.triu(torch.ones(new long[] {nets, r}, f32), 1).eq(new Scalar(1)).unsqueeze(0);
        Tensor valid = outside.logical_not().to(torch.ScalarType.Float).expand(c, nets, r).contiguous();
        Tensor initial = Ops.reluNetLoss(rows, targets, valid, params, hidden);
        for (int step = 0; step < steps; step++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor mask = valid;
                if (m < r) {
                    Tensor scores = torch.rand(new long[] {c, nets, r}, o, f32).masked_fill(outside, new Scalar(2.0));
                    var top = torch.topk(scores, m, 2, false, false);
                    Tensor chosen = top.get0().lt(new Scalar(2.0)).to(torch.ScalarType.Float);
                    mask = torch.zeros(new long[] {c, nets, r}, f32).scatter(2, top.get1(), chosen);
                }
                Ops.reluNetAdamStep(rows, targets, mask, params, expAvg, expAvgSq, hidden, step + 1, lr,
                        ADAM_BETA1, ADAM_BETA2, ADAM_EPS);
            }
        }
        Tensor fin = Ops.reluNetLoss(rows, targets, valid, params, hidden);
        // Net i predicts at the query of position i + 1.
        Tensor qn = queries.narrow(1, 1, nets).reshape(c * nets, 1, d);
        Tensor w1n = params.narrow(2, 0, dh).reshape(c * nets, d, hidden);
        Tensor h = torch.bmm(qn, w1n).view(c, nets, hidden).add(params.narrow(2, dh, hidden)).relu();
        Tensor pred = h.mul(params.narrow(2, dh + hidden, hidden)).sum(new long[] {2}, false, null)
                .add(params.select(2, dh + 2L * hidden));
        return new Tensor[] {pred, initial, fin};
    }

    /** libtorch's AdamOptions defaults, which the tensor path uses. */
    private static final double ADAM_BETA1 = 0.9;
    private static final double ADAM_BETA2 = 0.999;
    private static final double ADAM_EPS = 1e-8;

    private static Tensor uniform(long[] shape, double bound, GeneratorOptional o,
            TensorOptions f32) {
        Tensor t = torch.rand(shape, o, f32).mul(new Scalar(2 * bound)).sub(new Scalar(bound));
        return t.set_requires_grad(true);
    }

    /** Every net of every prompt at every row: rows (C, r, d) -> (C, r, nets). */
    private Tensor forwardRows(Tensor rows, Tensor w1, Tensor b1, Tensor w2, Tensor b2) {
        long c = rows.size(0);
        long r = rows.size(1);
        long nets = w1.size(2);
        Tensor h = torch.baddbmm(b1.view(c, 1, nets * hidden), rows, w1.view(c, rows.size(2), nets * hidden))
                .relu().view(c, r, nets, hidden);
        return h.mul(w2).sum(new long[] {3}, false, null).add(b2);
    }

    /** Each net's mean squared error over the rows of its mask: (C, r, nets) -> (C, nets). */
    private static Tensor meanError(Tensor out, Tensor targets, Tensor mask) {
        return out.sub(targets).square().mul(mask).sum(new long[] {1}, false, null)
                .div(mask.sum(new long[] {1}, false, null));
    }
}

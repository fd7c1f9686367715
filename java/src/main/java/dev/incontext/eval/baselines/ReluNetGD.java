package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.Rng;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A 2-layer ReLU network trained by gradient descent on each prefix (Garg et al.'s GDModel): f(x) = W2 relu(W1 x +
 * b1) + b2 with {@code hidden} units and the task's input size, PyTorch's default nn.Linear initialisation
 * (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), Adam at {@code lr} for {@code steps} steps on the mean
 * squared error of a minibatch of {@code batchSize} points drawn without replacement from the prefix (all of it when
 * the prefix is smaller). One independent net per (prompt, prefix k), predicting at the query of position k; 0 at
 * k = 0. The reference's defaults: hidden 100, lr 5e-3, 100 steps, minibatch 100.
 *
 * <p>All B (n - 1) nets train at once on the batch's device, in float32, as batched tensors: (B (n - 1), d, hidden)
 * weights, batched matrix products, a masked loss summed over nets (Adam is element-wise, so each net's update is
 * exactly its own). Minibatches are the m = min(batchSize, n - 1) smallest of uniform scores over the points, with the
 * points at or after k scored out and masked. Randomness (initialisation and minibatches) comes from a generator
 * seeded with {@code seed}, so a batch gives the same predictions every time. Cost: steps x 3 x B (n - 1) m d hidden
 * multiply-adds (6e10 for B = 64, n = 41, d = 20: about 15 s on two busy CPU cores), memory B (n - 1) (d + 4)
 * hidden floats for the nets and their Adam state plus one step's activations; the query path costs the same.
 */
public record ReluNetGD(int hidden, double lr, int steps, int batchSize, long seed) implements Predictor {
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

    /**
     * What training gave: predictions (B, n) in the batch's dtype, and each net's mean squared error over its whole
     * prefix before and after training ((B, n - 1) float32, net k - 1 trained on the first k points).
     */
    public record Trained(Tensor predictions, Tensor initialLoss, Tensor finalLoss) {}

    /** Trains all the nets of a batch and predicts at {@code queries} (null: the prompt's own x's). */
    public Trained train(PromptBatch batch, Tensor queries) {
        Tensor q = PrefixMoments.queries(batch, queries);
        long b = batch.batchSize();
        long n = batch.points();
        long d = batch.dims();
        if (n < 2) {
            Tensor none = torch.zeros(new long[] {b, 0}, batch.xs().options().dtype(
                    new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Float)));
            return new Trained(torch.zeros_like(batch.ys()), none, none);
        }
        try (AutoGradMode grad = new AutoGradMode(true)) {
            var f32 = batch.xs().options().dtype(new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Float));
            // Clones: the batch may hold inference-mode tensors, which autograd cannot save.
            Tensor x = batch.xs().to(torch.ScalarType.Float).clone().reshape(b * n, d);   // rows b n + j
            Tensor y = batch.ys().to(torch.ScalarType.Float).clone().reshape(b * n);
            long nets = b * (n - 1);
            long m = Math.min(batchSize, n - 1);
            Generator gen = Rng.on(f32, Rng.derive(seed, Rng.Stream.INIT, 0x4e4e));
            var o = Rng.opt(gen);
            Tensor w1 = uniform(new long[] {nets, d, hidden}, 1 / Math.sqrt(d), o, f32);
            Tensor b1 = uniform(new long[] {nets, 1, hidden}, 1 / Math.sqrt(d), o, f32);
            Tensor w2 = uniform(new long[] {nets, hidden, 1}, 1 / Math.sqrt(hidden), o, f32);
            Tensor b2 = uniform(new long[] {nets, 1, 1}, 1 / Math.sqrt(hidden), o, f32);
            TensorVector params = new TensorVector(w1, b1, w2, b2);
            Adam adam = new Adam(params, new AdamOptions(lr));
            // Net p = b (n - 1) + (k - 1) learns from the first k points of prompt b.
            Tensor kk = torch.arange(new Scalar(1), new Scalar(n), f32).repeat(b).view(nets, 1);      // (nets, 1)
            Tensor rowBase = torch.arange(new Scalar(0), new Scalar(b), f32.dtype(
                    new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Long))).mul(new Scalar(n))
                    .repeat_interleave(n - 1).view(nets, 1);                                              // (nets, 1)
            Tensor positions = torch.arange(new Scalar(0), new Scalar(n - 1), f32).view(1, n - 1);
            Tensor outside = positions.ge(kk);                                                            // (nets, n-1)
            Tensor initial;
            try (var ng = new AutoGradMode(false)) {
                initial = prefixLoss(x, y, rowBase, outside, n, w1, b1, w2, b2);
            }
            for (int step = 0; step < steps; step++) {
                try (PointerScope scope = new PointerScope()) {   // frees each step's activations
                    Tensor scores = torch.rand(new long[] {nets, n - 1}, o, f32).masked_fill(outside, new Scalar(2.0));
                    var top = torch.topk(scores, m, 1, false, false);
                    Tensor mask = top.get0().lt(new Scalar(2.0)).to(torch.ScalarType.Float);       // (nets, m)
                    Tensor rows = top.get1().add(rowBase).view(-1);
                    Tensor xb = x.index_select(0, rows).view(nets, m, d);
                    Tensor yb = y.index_select(0, rows).view(nets, m);
                    Tensor out = forward(xb, w1, b1, w2, b2);
                    Tensor perNet = out.sub(yb).square().mul(mask).sum(new long[] {1}, false, null)
                            .div(mask.sum(new long[] {1}, false, null));
                    adam.zero_grad();
                    perNet.sum().backward();
                    adam.step();
                }
            }
            try (var ng = new AutoGradMode(false)) {
                Tensor fin = prefixLoss(x, y, rowBase, outside, n, w1, b1, w2, b2);
                // Net (b, k) predicts at the query of position k.
                Tensor qn = q.to(torch.ScalarType.Float).narrow(1, 1, n - 1).reshape(nets, 1, d);
                Tensor pred = forward(qn, w1, b1, w2, b2).view(b, n - 1).detach();
                Tensor all = torch.cat(new TensorVector(torch.zeros(new long[] {b, 1}, pred.options()), pred), 1);
                Tensor result = PrefixMoments.finish(all, batch, name());
                return new Trained(result, initial.view(b, n - 1), fin.view(b, n - 1));
            }
        }
    }

    private static Tensor uniform(long[] shape, double bound, org.bytedeco.pytorch.GeneratorOptional o,
            org.bytedeco.pytorch.TensorOptions f32) {
        Tensor t = torch.rand(shape, o, f32).mul(new Scalar(2 * bound)).sub(new Scalar(bound));
        return t.set_requires_grad(true);
    }

    /** (nets, m, d) -> (nets, m). */
    private static Tensor forward(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2) {
        Tensor h = torch.baddbmm(b1, x, w1).relu();
        return torch.baddbmm(b2, h, w2).squeeze(2);
    }

    /** Each net's mean squared error over its whole prefix (nets). */
    private static Tensor prefixLoss(Tensor x, Tensor y, Tensor rowBase, Tensor outside, long n, Tensor w1,
            Tensor b1, Tensor w2, Tensor b2) {
        long nets = rowBase.size(0);
        Tensor rows = torch.arange(new Scalar(0), new Scalar(n - 1), rowBase.options()).view(1, n - 1).add(rowBase)
                .view(-1);
        Tensor xb = x.index_select(0, rows).view(nets, n - 1, x.size(1));
        Tensor yb = y.index_select(0, rows).view(nets, n - 1);
        Tensor inside = outside.logical_not().to(torch.ScalarType.Float);
        return forward(xb, w1, b1, w2, b2).sub(yb).square().mul(inside).sum(new long[] {1}, false, null)
                .div(inside.sum(new long[] {1}, false, null)).detach();
    }
}

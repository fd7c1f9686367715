package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.model.Gpt2Model;
import dev.incontext.model.Models;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Tensors;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class LinearProbesTest {
    private static final TensorOptions F64 = new TensorOptions(torch.ScalarType.Double);

    /**
     * A synthetic hidden state that is a known linear map of w plus small noise: the probe recovers w (R² ≈ 1);
     * a hidden state independent of w gives R² ≈ 0 (held-out prompts, so a probe cannot memorise).
     */
    @Test
    void probesRecoverAPlantedLinearFeature() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "demo", List.of());
        TaskSampler s = new TaskSampler(c.task(), 1, F64);
        int width = 16;
        Tensor map = torch.randn(new long[] {5, width}, Rng.opt(Rng.cpu(2)), F64);
        Tensor[][] hidden = new Tensor[2][2];
        Tensor[] targets = new Tensor[2];
        for (int split = 0; split < 2; split++) {
            PromptBatch b = s.sample(2000, 7, 5, Rng.cpu(10 + split));
            Tensor w = LinearProbes.targets(b).get("w");                                 // (P, n, d)
            hidden[0][split] = torch.matmul(w, map).add(torch.randn(new long[] {2000, 7, width},
                    Rng.opt(Rng.cpu(20 + split)), F64).mul(new Scalar(0.01)));
            hidden[1][split] = torch.randn(new long[] {2000, 7, width}, Rng.opt(Rng.cpu(30 + split)), F64);
            targets[split] = w;
        }
        double[][] r2 = LinearProbes.r2PerLayer(List.of(hidden[0][0], hidden[1][0]), targets[0],
                List.of(hidden[0][1], hidden[1][1]), targets[1], 1e-6);
        for (int k = 0; k < 7; k++) {
            assertTrue(r2[0][k] > 0.999, "planted layer at k=" + k + ": " + r2[0][k]);
            assertTrue(Math.abs(r2[1][k]) < 0.05, "unrelated layer at k=" + k + ": " + r2[1][k]);
        }
    }

    /** Prefix targets: Xᵀy and the least-squares weights of the first k examples (0 at k = 0). */
    @Test
    void prefixTargets() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "demo", List.of());
        PromptBatch b = new TaskSampler(c.task(), 1, F64).sample(3, 9, 5, Rng.cpu(4));
        Map<String, Tensor> t = LinearProbes.targets(b);
        Tensor xty = t.get("xty");
        Tensor manual = torch.matmul(b.xs().narrow(1, 0, 4).transpose(1, 2), b.ys().narrow(1, 0, 4).unsqueeze(2))
                .squeeze(2);
        assertTrue(Tensors.maxAbsDiff(xty.select(1, 4), manual) < 1e-12);
        assertEquals(0.0, Tensors.maxAbsDiff(t.get("w_ols").select(1, 0), torch.zeros_like(manual)), 0.0);
        // With k >= d noiseless examples least squares recovers w.
        assertTrue(Tensors.maxAbsDiff(t.get("w_ols").select(1, 8), t.get("w").select(1, 8)) < 1e-8);
    }

    /** At the y token the prefix targets cover one example more: its entry k is the x token's entry k + 1. */
    @Test
    void yTokenTargetsIncludeTheirOwnExample() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "demo", List.of());
        PromptBatch b = new TaskSampler(c.task(), 1, F64).sample(3, 9, 5, Rng.cpu(4));
        Map<String, Tensor> x = LinearProbes.targets(b, LinearProbes.Token.X);
        Map<String, Tensor> y = LinearProbes.targets(b, LinearProbes.Token.Y);
        for (String target : List.of("w_ols", "xty")) {
            assertTrue(Tensors.maxAbsDiff(y.get(target).narrow(1, 0, 8), x.get(target).narrow(1, 1, 8)) < 1e-10, target);
        }
        Tensor all = torch.matmul(b.xs().transpose(1, 2), b.ys().unsqueeze(2)).squeeze(2);
        assertTrue(Tensors.maxAbsDiff(y.get("xty").select(1, 8), all) < 1e-12);
        assertTrue(Tensors.maxAbsDiff(y.get("w_ols").select(1, 8), y.get("w").select(1, 8)) < 1e-8);
        assertEquals(0.0, Tensors.maxAbsDiff(y.get("w"), x.get("w")), 0.0);
        // The control is the token's own input: x_k at the x token, y_k at the y token.
        assertEquals(0.0, Tensors.maxAbsDiff(x.get(LinearProbes.CONTROL), b.xs()), 0.0);
        assertEquals(0.0, Tensors.maxAbsDiff(y.get(LinearProbes.CONTROL), b.ys().unsqueeze(2)), 0.0);
    }

    /** The hidden states come from the same pass as the predictions: one per layer plus the embedding. */
    @Test
    void gpt2ExposesHiddenStatesOfTheSamePass() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "demo", List.of());
        Gpt2Model m = (Gpt2Model) Models.create(c, F64);
        PromptBatch b = new TaskSampler(c.task(), 1, F64).sample(2, 6, 5, Rng.cpu(4));
        Gpt2Model.WithHidden h = m.forwardWithHidden(b.xs(), b.ys());
        assertEquals(m.layers() + 1, h.atX().size());
        assertEquals(m.layers() + 1, h.atY().size());
        assertEquals(6, h.atX().get(1).size(1));
        assertEquals(m.width(), h.atY().get(1).size(2));
        // The y token of point k sees y_k, the x token of point k does not: changing y_2 changes the y token's state
        // at point 2 after the first block and leaves every x token's state at points <= 2 as it was.
        Tensor ys2 = b.ys().clone();
        ys2.select(1, 2).add_(new Scalar(1.0));
        Gpt2Model.WithHidden h2 = m.forwardWithHidden(b.xs(), ys2);
        assertEquals(0.0, Tensors.maxAbsDiff(h.atX().get(1).narrow(1, 0, 3), h2.atX().get(1).narrow(1, 0, 3)), 0.0);
        assertTrue(Tensors.maxAbsDiff(h.atY().get(1).select(1, 2), h2.atY().get(1).select(1, 2)) > 1e-6);
        assertEquals(0.0, Tensors.maxAbsDiff(h.predictions(), m.forward(b.xs(), b.ys())), 0.0);
    }
}

package dev.incontext.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.testing.NativeScope;
import dev.incontext.config.RunConfig;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Tensors;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(NativeScope.class)
class ModelTest {
    private static final TensorOptions F32 = new TensorOptions(torch.ScalarType.Float);
    private static RunConfig config(String... overrides) {
        return ConfigLoader.load(RunConfig.class, "demo", List.of(overrides));
    }

    @Test
    void standardPresetHasGpt2ParameterCount() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "linear_regression", List.of());
        // 12 blocks x (12 E^2 + 13 E) + positions 202 x E + read-in (20 E + E) + final LN 2E + read-out (E + 1)
        long e = 256;
        long expected = 12 * (12 * e * e + 13 * e) + 202 * e + (20 * e + e) + 2 * e + (e + 1);
        assertEquals(expected, Models.create(c, F32).parameterCount());
    }

    @ParameterizedTest(name = "encoding={0}")
    @ValueSource(strings = {"interleaved", "token_pair", "token_pair_xy"})
    void predictionAtKSeesOnlyTheFirstKLabels(String encoding) {
        RunConfig c = config("model.encoding=" + encoding);
        InContextModel m = Models.create(c, F32);
        PromptBatch b = TaskSampler.forRun(c, F32).sample(4, 11, 5, Rng.cpu(1));
        Tensor base = m.predict(b);
        int k = 6;
        Tensor ys2 = b.ys().clone();
        ys2.narrow(1, k, 11 - k).add_(new Scalar(3.0));
        Tensor perturbed = m.predict(new PromptBatch(b.xs(), ys2, b.params(), 5));
        assertEquals(0.0, Tensors.maxAbsDiff(base.narrow(1, 0, k + 1), perturbed.narrow(1, 0, k + 1)),
                "predictions up to k must not see y_k or later");
        assertTrue(Tensors.maxAbsDiff(base.narrow(1, k + 1, 1), perturbed.narrow(1, k + 1, 1)) > 1e-6,
                "prediction k+1 must depend on y_k");
    }

    @ParameterizedTest(name = "model={0}")
    @ValueSource(strings = {"interleaved", "token_pair", "token_pair_xy", "lsa"})
    void queryPathEqualsThePerPositionForwardPasses(String kind) {
        RunConfig c = kind.equals("lsa") ? ConfigLoader.load(RunConfig.class, "lsa_linear_regression", List.of("task.n_dims=5", "curriculum.dims.end=5", "curriculum.dims.start=5"))
                : config("model.encoding=" + kind);
        InContextModel m = Models.create(c, F32);
        TaskSampler sampler = TaskSampler.forRun(c, F32);
        int n = 9;
        PromptBatch b = sampler.sample(3, n, 5, Rng.cpu(4));
        Tensor queries = sampler.sample(3, n, 5, Rng.cpu(5)).xs();
        // Own x's as queries: the ordinary forward pass.
        assertTrue(Tensors.relErr(m.predict(b, b.xs()), m.predict(b)) < 1e-5);
        // Fresh queries: Garg's way, one forward pass per position with x_k replaced by the query.
        Tensor fast = m.predict(b, queries);
        for (int k = 0; k < n; k++) {
            Tensor xs = b.xs().clone();
            xs.select(1, k).copy_(queries.select(1, k));
            Tensor slow = m.predict(new PromptBatch(xs, b.ys(), b.params(), 5)).select(1, k);
            double err = Tensors.relErr(fast.select(1, k), slow);
            assertTrue(err < 1e-5, "position " + k + ": relative difference " + err);
        }
        assertTrue(Tensors.maxAbsDiff(fast, m.predict(b)) > 1e-4, "the queries must change the predictions");
    }

    @Test
    void incontextAttentionAndSdpaGiveTheSameModel() {
        RunConfig a = config("model.attention=incontext");
        RunConfig b = config("model.attention=sdpa");
        PromptBatch batch = TaskSampler.forRun(a, F32).sample(8, 11, 5, Rng.cpu(2));
        double err = Tensors.relErr(Models.create(a, F32).predict(batch), Models.create(b, F32).predict(batch));
        assertTrue(err < 1e-5, "relative difference " + err);
    }

    @Test
    void interleavedEncodingLayout() {
        Tensor xs = Tensors.randn(torch.ScalarType.Float, 2, 3, 4);
        Tensor ys = Tensors.randn(torch.ScalarType.Float, 2, 3);
        Tensor tok = new PromptEncoding.Interleaved().encode(xs, ys);
        assertEquals(6, tok.size(1));
        assertEquals(0.0, Tensors.maxAbsDiff(tok.select(1, 2), xs.select(1, 1)));
        assertEquals(0.0, Tensors.maxAbsDiff(tok.select(1, 3).select(1, 0), ys.select(1, 1)));
        assertEquals(0.0, tok.select(1, 3).narrow(1, 1, 3).abs().max().item_double());
        Tensor pair = new PromptEncoding.TokenPair().encode(xs, ys);
        assertEquals(5, pair.size(2));
        assertEquals(0.0, Tensors.maxAbsDiff(pair.select(1, 0).narrow(1, 1, 4), xs.select(1, 0)));
        assertEquals(0.0, Tensors.maxAbsDiff(pair.select(1, 1).select(1, 0), ys.select(1, 0)));
        assertEquals(0.0, pair.select(1, 1).narrow(1, 1, 4).abs().max().item_double());
        Tensor xy = new PromptEncoding.TokenPairXY().encode(xs, ys);
        assertEquals(5, xy.size(2));
        assertEquals(0.0, Tensors.maxAbsDiff(xy.select(1, 2), pair.select(1, 2)), "x tokens as token_pair's");
        assertEquals(0.0, Tensors.maxAbsDiff(xy.select(1, 3).select(1, 0), ys.select(1, 1)));
        assertEquals(0.0, Tensors.maxAbsDiff(xy.select(1, 3).narrow(1, 1, 4), xs.select(1, 1)), "y token carries x");
    }

    /**
     * Zhang, Frei &amp; Bartlett: with W^KQ = [[G, 0], [0, 0]] and W^PV = [[0, 0], [0, 1]] the linear self-attention
     * prediction after k examples is (1/k) sum_{i<k} y_i x_i^T G x_k exactly (Gamma^{-1} in the paper is symmetric).
     */
    @Test
    void linearSelfAttentionAtTheGlobalMinimumIsPreconditionedAveraging() {
        int d = 4;
        LsaModel m = new LsaModel(d, 0.1, Rng.cpu(3), new TensorOptions(torch.ScalarType.Double));
        Tensor g = Tensors.randn(torch.ScalarType.Double, d, d);
        try (NoGradGuard ng = new NoGradGuard()) {
            var named = m.module().named_parameters();
            Tensor kq = named.get("w_kq");
            Tensor pv = named.get("w_pv");
            kq.zero_();
            kq.narrow(0, 0, d).narrow(1, 0, d).copy_(g);
            pv.zero_();
            pv.select(0, d).select(0, d).fill_(new Scalar(1.0));
        }
        Tensor xs = Tensors.randn(torch.ScalarType.Double, 3, 7, d);
        Tensor ys = Tensors.randn(torch.ScalarType.Double, 3, 7);
        Tensor pred = m.predict(new PromptBatch(xs, ys, java.util.Map.of(), d));
        for (int k = 1; k < 7; k++) {
            Tensor avg = xs.narrow(1, 0, k).mul(ys.narrow(1, 0, k).unsqueeze(2)).sum(new long[] {1}).div(new Scalar(k));
            Tensor expect = torch.matmul(torch.matmul(avg, g).unsqueeze(1), xs.select(1, k).unsqueeze(2)).reshape(-1);
            assertTrue(Tensors.maxAbsDiff(pred.select(1, k), expect) < 1e-12, "k = " + k);
        }
        assertEquals(0.0, pred.select(1, 0).abs().max().item_double());
    }
}

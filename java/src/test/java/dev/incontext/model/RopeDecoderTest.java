package dev.incontext.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.ops.Ops;
import dev.incontext.ops.Rng;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Tensors;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class RopeDecoderTest {
    private static final TensorOptions F32 = new TensorOptions(torch.ScalarType.Float);
    private static final TensorOptions F64 = new TensorOptions(torch.ScalarType.Double);

    private static RopeDecoder model(String... overrides) {
        ModularConfig c = ConfigLoader.load(ModularConfig.class, null, List.of(overrides));
        return new RopeDecoder(c.model(), c.task().vocabSize(), Rng.cpu(3), F32);
    }

    private static Tensor scores(Tensor q, Tensor k) {
        return torch.matmul(q, k.transpose(-2, -1));
    }

    @Test
    void shiftingAllPositionsLeavesAttentionScoresUnchanged() {
        int dim = 16;
        Tensor q = torch.randn(new long[] {2, 3, 11, dim}, Rng.opt(Rng.cpu(1)), F64);
        Tensor k = torch.randn(new long[] {2, 3, 11, dim}, Rng.opt(Rng.cpu(2)), F64);
        Tensor[] at0 = RopeDecoder.ropeTables(0, 11, dim, 10000.0, F64);
        Tensor[] at37 = RopeDecoder.ropeTables(37, 11, dim, 10000.0, F64);
        Tensor s0 = scores(RopeDecoder.rotate(q, at0), RopeDecoder.rotate(k, at0));
        Tensor s37 = scores(RopeDecoder.rotate(q, at37), RopeDecoder.rotate(k, at37));
        // float64 rotations of O(1) entries: differences are rounding in cos/sin of angles up to 47 rad (~1e-14).
        double diff = Tensors.maxAbsDiff(s0, s37);
        assertTrue(diff < 1e-11, "scores changed by " + diff + " under a shift of all positions");
        // And the rotation is not the identity: unrotated scores differ.
        assertTrue(Tensors.maxAbsDiff(s0, scores(q, k)) > 0.1);
    }

    @Test
    void agreesWithDirectComplexRotation() {
        int dim = 8;
        int len = 9;
        double base = 10000.0;
        Tensor x = torch.randn(new long[] {1, 1, len, dim}, Rng.opt(Rng.cpu(4)), F64);
        Tensor[] tables = RopeDecoder.ropeTables(0, len, dim, base, F64);
        // The native op and its reference (the formula composed of tensor ops), against the complex rotation
        // written out.
        for (Tensor rotated : new Tensor[] {RopeDecoder.rotate(x, tables), Ops.ropeReference(x, tables[0], tables[1])}) {
            checkComplexRotation(Tensors.toDoubleArray(x), Tensors.toDoubleArray(rotated), len, dim, base);
        }
    }

    /**
     * The native op against the composed formula, value and gradient, in float64 and float32, on a strided view
     * (the decoder passes q and k as transposed views of its qkv projection).
     */
    @Test
    void nativeRopeEqualsTheComposedFormulaWithGradients() {
        for (TensorOptions o : new TensorOptions[] {F64, F32}) {
            double tol = o == F64 ? 1e-12 : 1e-5;
            Tensor base = torch.randn(new long[] {3, 13, 4, 16}, Rng.opt(Rng.cpu(6)), o);   // (B, T, H, D)
            Tensor[] tables = RopeDecoder.ropeTables(5, 13, 16, 10000.0, o);
            Tensor g = torch.randn(new long[] {3, 4, 13, 16}, Rng.opt(Rng.cpu(7)), o);
            Tensor x1 = base.clone().requires_grad_(true);
            Tensor x2 = base.clone().requires_grad_(true);
            Tensor y1 = RopeDecoder.rotate(x1.transpose(1, 2), tables);
            Tensor y2 = Ops.ropeReference(x2.transpose(1, 2), tables[0], tables[1]);
            assertTrue(Tensors.maxAbsDiff(y1, y2) < tol, "values differ by " + Tensors.maxAbsDiff(y1, y2));
            y1.mul(g).sum().backward();
            y2.mul(g).sum().backward();
            assertTrue(Tensors.maxAbsDiff(x1.grad(), x2.grad()) < tol, "gradients differ by "
                    + Tensors.maxAbsDiff(x1.grad(), x2.grad()));
            // The rotation is orthogonal: its gradient is the inverse rotation, so the norms agree.
            assertEquals(g.norm().item_double(), x1.grad().norm().item_double(), tol * 100);
        }
    }

    @Test
    void nativeRopeNamesBadArguments() {
        Tensor x = torch.randn(new long[] {1, 2, 5, 6}, Rng.opt(Rng.cpu(8)), F64);
        Tensor[] t = RopeDecoder.ropeTables(0, 5, 6, 10000.0, F64);
        IllegalArgumentException odd = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Ops.rope(x.narrow(3, 0, 5), t[0].narrow(1, 0, 5), t[1].narrow(1, 0, 5)));
        assertTrue(odd.getMessage().contains("must be even"), odd.getMessage());
        IllegalArgumentException shape = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Ops.rope(x, t[0].narrow(0, 0, 4), t[1].narrow(0, 0, 4)));
        assertTrue(shape.getMessage().contains("'cos' and 'sin' must be (T, D) = [5, 6]"), shape.getMessage());
    }

    private static void checkComplexRotation(double[] in, double[] got, int len, int dim, double base) {
        for (int t = 0; t < len; t++) {
            for (int j = 0; j < dim / 2; j++) {
                // (x_2j + i x_2j+1) * exp(i t theta_j), theta_j = base^(-2j/D)
                double theta = t * Math.pow(base, -2.0 * j / dim);
                double re = in[t * dim + 2 * j];
                double im = in[t * dim + 2 * j + 1];
                double c = Math.cos(theta);
                double s = Math.sin(theta);
                assertEquals(re * c - im * s, got[t * dim + 2 * j], 1e-12, "t=" + t + " j=" + j + " (real)");
                assertEquals(re * s + im * c, got[t * dim + 2 * j + 1], 1e-12, "t=" + t + " j=" + j + " (imag)");
            }
        }
    }

    @Test
    void tiedHeadSharesStorageWithTheEmbedding() {
        RopeDecoder m = model();
        assertTrue(m.headWeight().is_same(m.embedding()));
        Tensor tokens = torch.randint(13, new long[] {2, 7}, Rng.opt(Rng.cpu(5)),
                F32.dtype(new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Long)));
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor h = m.hidden(tokens);
            Tensor before = m.logits(h);
            m.embedding().select(0, 3).add_(new Scalar(1.0));   // changes the head's row 3 too
            Tensor after = m.logits(h);
            double[] delta = Tensors.toDoubleArray(after.sub(before));
            double[] hs = Tensors.toDoubleArray(h.sum(new long[] {2}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            int v = (int) before.size(2);
            for (int i = 0; i < 14; i++) {
                for (int tok = 0; tok < v; tok++) {
                    double expected = tok == 3 ? hs[i] : 0.0;
                    assertEquals(expected, delta[i * v + tok], 1e-4, "position " + i + " token " + tok);
                }
            }
        }
        // One (V, C) matrix in the module: the head adds no parameters. Width 64, 2 layers, ReLU MLP 4x.
        long e = 64;
        long blocks = 2 * (4 * e + 3 * e * e + e * e + 8 * e * e);
        long vocab = ConfigLoader.load(ModularConfig.class, null, List.of()).task().p() + 18;
        assertEquals(vocab, m.embedding().size(0));
        assertEquals(vocab * e + blocks + 2 * e, parameterCount(m));
    }

    @Test
    void geluAndSwigluVariantsRunAndSwigluHasLlamaWidth() {
        Tensor tokens = torch.randint(11, new long[] {2, 9}, Rng.opt(Rng.cpu(7)),
                F32.dtype(new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Long)));
        try (NoGradGuard g = new NoGradGuard()) {
            RopeDecoder relu = model();
            RopeDecoder gelu = model("model.activation=gelu");
            RopeDecoder swiglu = model("model.activation=swiglu");
            for (RopeDecoder m : List.of(gelu, swiglu)) {
                Tensor out = m.forward(tokens);
                assertTrue(Tensors.allFinite(out));
                assertTrue(Tensors.maxAbsDiff(out, relu.forward(tokens)) > 1e-6, "the activation changes nothing");
            }
        }
        // SwiGLU: hidden = 8 * ceil(4 * floor(2 * 64 / 3) / 8) = 168 for width 64; three matrices per block.
        RopeDecoder swiglu = model("model.activation=swiglu");
        long e = 64;
        long hidden = 168;
        long blocks = 2 * (4 * e + 3 * e * e + e * e + 3 * hidden * e);
        assertEquals(swiglu.embedding().size(0) * e + blocks + 2 * e, parameterCount(swiglu));
    }

    static long parameterCount(RopeDecoder m) {
        long n = 0;
        var params = m.module().parameters();
        for (long i = 0; i < params.size(); i++) {
            n += params.get(i).numel();
        }
        return n;
    }

    @Test
    void attentionOpAndSdpaAgreeAndAttentionIsCausal() {
        RopeDecoder op = model("model.attention=incontext");
        RopeDecoder sdpa = model("model.attention=sdpa");   // same seed: same weights
        Tensor tokens = torch.randint(13, new long[] {3, 20}, Rng.opt(Rng.cpu(6)),
                F32.dtype(new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Long)));
        try (NoGradGuard g = new NoGradGuard()) {
            Tensor a = op.forward(tokens);
            Tensor b = sdpa.forward(tokens);
            // float32, O(1) logits after a final LayerNorm: two attention implementations differ by rounding.
            assertTrue(Tensors.maxAbsDiff(a, b) < 1e-4, "op vs sdpa: " + Tensors.maxAbsDiff(a, b));
            Tensor changed = tokens.clone();
            changed.select(1, 15).fill_(new Scalar(0));
            changed.select(1, 16).fill_(new Scalar(1));
            Tensor c = op.forward(changed);
            assertEquals(0.0, Tensors.maxAbsDiff(a.narrow(1, 0, 15), c.narrow(1, 0, 15)), 1e-6,
                    "a later token changed an earlier position's logits");
            Tensor map = op.attentionMap(tokens, 1, 2);
            double[] rows = Tensors.toDoubleArray(map.sum(new long[] {2}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            for (double r : rows) {
                assertEquals(1.0, r, 1e-5);
            }
            assertEquals(0.0, Tensors.toDoubleArray(map.select(1, 4).narrow(1, 5, 15).abs().max())[0], 0.0,
                    "position 4 attends to a later position");
        }
    }
}

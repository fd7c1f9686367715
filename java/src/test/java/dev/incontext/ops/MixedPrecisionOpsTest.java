package dev.incontext.ops;

import static dev.incontext.util.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The ops' bfloat16 path on the CPU (mixed-precision training) and the autocast scope. Accuracy rule for low
 * precision: the op's error against the float64 result for the same (bfloat16) inputs is at most twice the error of a
 * naive implementation computed in bfloat16 with libtorch's ops.
 */
@ExtendWith(SeedOnFailure.class)
class MixedPrecisionOpsTest {
    private PointerScope scope;

    @BeforeEach
    void open() {
        scope = new PointerScope();
        torch.manual_seed(TestSeeds.fresh(getClass()));
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static double maxAbs(Tensor t) {
        return t.to(ScalarType.Double).abs().max().item_double();
    }

    @Test
    void attentionTakesBf16WithinTwiceTheNaiveError() {
        for (boolean causal : new boolean[] {false, true}) {
            Tensor q = randn(ScalarType.Float, 2, 3, 41, 16).to(ScalarType.BFloat16).set_requires_grad(true);
            Tensor k = randn(ScalarType.Float, 2, 3, 41, 16).to(ScalarType.BFloat16).set_requires_grad(true);
            Tensor v = randn(ScalarType.Float, 2, 3, 41, 16).to(ScalarType.BFloat16).set_requires_grad(true);
            Tensor exact = Ops.attentionReference(q.detach().to(ScalarType.Double), k.detach().to(ScalarType.Double),
                    v.detach().to(ScalarType.Double), causal);
            Tensor out = Ops.attention(q, k, v, causal);
            assertEquals(ScalarType.BFloat16, out.scalar_type().intern());
            double err = maxAbs(out.to(ScalarType.Double).sub(exact));
            double naive = maxAbs(naive(q.detach(), k.detach(), v.detach(), causal).to(ScalarType.Double).sub(exact));
            assertTrue(err <= 2 * naive, "causal " + causal + ": error " + err + " > 2 x naive bf16 error " + naive);
            // Gradients reach the bfloat16 leaves, finite and close to float64's (within bfloat16's 2^-8 x scale).
            Tensor g = randn(ScalarType.Float, 2, 3, 41, 16).to(ScalarType.BFloat16);
            out.mul(g).sum().backward();
            Tensor q64 = q.detach().to(ScalarType.Double).set_requires_grad(true);
            Ops.attentionReference(q64, k.detach().to(ScalarType.Double), v.detach().to(ScalarType.Double), causal)
                    .mul(g.to(ScalarType.Double)).sum().backward();
            assertEquals(ScalarType.BFloat16, q.grad().scalar_type().intern());
            double gerr = maxAbs(q.grad().to(ScalarType.Double).sub(q64.grad()));
            assertTrue(gerr <= 8 * Math.pow(2, -8) * maxAbs(q64.grad()), "dq error " + gerr);
        }
    }

    private static Tensor naive(Tensor q, Tensor k, Tensor v, boolean causal) {
        long t = q.size(2);
        Tensor s = torch.matmul(q, k.transpose(2, 3)).mul(new Scalar(1 / Math.sqrt(q.size(3))));
        if (causal) {
            Tensor mask = torch.triu(torch.ones(new long[] {t, t}, new org.bytedeco.pytorch.TensorOptions(
                    ScalarType.Bool)), 1);
            s = s.masked_fill(mask, new Scalar(Double.NEGATIVE_INFINITY));
        }
        return torch.matmul(torch.softmax(s, 3), v);
    }

    @Test
    void ropeTakesBf16WithFloat32Tables() {
        Tensor x = randn(ScalarType.Float, 2, 2, 9, 8).to(ScalarType.BFloat16);
        Tensor angles = torch.arange(new Scalar(0), new Scalar(72)).to(ScalarType.Float).view(9, 8)
                .mul(new Scalar(0.1));
        Tensor cos = angles.cos();
        Tensor sin = angles.sin();
        Tensor out = Ops.rope(x, cos, sin);
        assertEquals(ScalarType.BFloat16, out.scalar_type().intern());
        Tensor exact = Ops.ropeReference(x.to(ScalarType.Double), cos.to(ScalarType.Double), sin.to(ScalarType.Double));
        // One rounding of a float32 result to bfloat16: within half a bfloat16 ulp (2^-9 relative) plus float32 noise.
        double err = maxAbs(out.to(ScalarType.Double).sub(exact));
        assertTrue(err <= Math.pow(2, -8) * maxAbs(exact), "rope bf16 error " + err);
    }

    /** Products inside a scope run in bfloat16; the scope restores the state it found, nested or not. */
    @Test
    void autocastScopeRunsProductsInBf16AndRestores() {
        Tensor a = randn(ScalarType.Float, 4, 8);
        Tensor b = randn(ScalarType.Float, 8, 3);
        assertFalse(Autocast.active("cpu"));
        try (Autocast outer = Autocast.bf16("cpu")) {
            assertTrue(Autocast.active("cpu"));
            assertEquals(ScalarType.BFloat16, torch.matmul(a, b).scalar_type().intern());
            try (Autocast inner = Autocast.bf16("cpu")) {
                assertTrue(Autocast.active("cpu"));
            }
            assertTrue(Autocast.active("cpu"), "closing a nested scope keeps the outer one");
        }
        assertFalse(Autocast.active("cpu"));
        assertEquals(ScalarType.Float, torch.matmul(a, b).scalar_type().intern());
    }
}

package dev.incontext.ops;

import static dev.incontext.util.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.util.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad inputs give Java exceptions whose messages name the argument and what was expected; none crashes the
 * JVM (each test ends with a good call on the same JVM).
 */
@ExtendWith(SeedOnFailure.class)
class BadInputTest {
    private PointerScope scope;
    private final Tensor q = randn(ScalarType.Double, 2, 2, 8, 4);

    @BeforeEach
    void open() {
        scope = new PointerScope();
        torch.manual_seed(TestSeeds.fresh(getClass()));
    }

    @AfterEach
    void stillAlive() {
        Tensor ok = Ops.attention(q, q, q, true);
        assertTrue(Tensors.allFinite(ok));
        scope.close();
    }

    private static void expect(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
        assertTrue(!e.getMessage().contains("frame #"), "message carries a C++ backtrace: " + e.getMessage());
    }

    @Test
    void wrongRank() {
        expect("argument 'q' must be a 4-D tensor of shape (B, H, T, D); got a 3-D tensor of shape [2, 8, 4]",
                () -> Ops.attention(q.select(1, 0), q, q, false));
        expect("argument 'x' must be a 3-D tensor of shape (B, n, d); got a 2-D tensor",
                () -> Ops.prefixLstsq(randn(ScalarType.Double, 3, 4), randn(ScalarType.Double, 3, 4), 0));
    }

    @Test
    void mismatchedBatch() {
        expect("argument 'v' must have the shape of 'q' [2, 2, 8, 4]; got [1, 2, 8, 4]",
                () -> Ops.attention(q, q, q.narrow(0, 0, 1), false));
        expect("argument 'y' must have shape (B, n) = [3, 5]",
                () -> Ops.prefixLstsq(randn(ScalarType.Double, 3, 5, 2), randn(ScalarType.Double, 2, 5), 0));
    }

    /** The ReLU-net ops (called from Java through the same dispatcher path): shapes, dtypes, NaN, Adam's step. */
    @Test
    void reluNetArguments() {
        Tensor x = randn(ScalarType.Float, 2, 6, 3);
        Tensor y = randn(ScalarType.Float, 2, 6);
        Tensor mask = torch.ones(new long[] {2, 6, 6}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Float));
        Tensor params = randn(ScalarType.Float, 2, 6, 3 * 8 + 2 * 8 + 1);
        assertEquals(2 * 6, Ops.reluNetLoss(x, y, mask, params, 8).numel());
        expect("argument 'params' must have shape (C, nets, S) = [2, 6, 46]",
                () -> Ops.reluNetLoss(x, y, mask, params, 9));
        expect("argument 'x' must have dtype Float on cpu; got Double",
                () -> Ops.reluNetLoss(x.to(ScalarType.Double), y, mask, params, 8));
        Tensor nan = y.clone();
        nan.narrow(1, 2, 1).fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        expect("argument 'y'", () -> Ops.reluNetLoss(x, nan, mask, params, 8));
        expect("argument 'step' (Adam's step number) must be at least 1",
                () -> Ops.reluNetAdamStep(x, y, mask, params, torch.zeros_like(params), torch.zeros_like(params), 8,
                        0, 1e-3, 0.9, 0.999, 1e-8));
    }

    @Test
    void unsupportedDtypesOnCpu() {
        // float16 and bfloat16 are taken (widened to float32, see MixedPrecisionOpsTest); integers are not, and the
        // dtypes must match.
        Tensor i = q.to(ScalarType.Int);
        expect("argument 'q' must have dtype Float or Double on cpu; got Int", () -> Ops.attention(i, i, i, false));
        Tensor h = q.to(ScalarType.Half);
        expect("argument 'k' must have the dtype and device of 'q'", () -> Ops.attention(q, h, q, false));
        expect("argument 'k' must have the dtype and device of 'q'", () -> Ops.attention(h, q, h, false));
        expect("incontext.gelu_tanh: argument 'x' must be a floating-point tensor; got Int", () -> Ops.geluTanh(i));
    }

    @Test
    void nanAndInfinity() {
        Tensor bad = q.clone();
        bad.select(0, 1).select(0, 0).select(0, 3).select(0, 2).fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        expect("argument 'k' contains NaN (first at index [1, 0, 3, 2])", () -> Ops.attention(q, bad, q, false));
        Tensor y = randn(ScalarType.Double, 2, 5);
        y.select(0, 0).select(0, 4).fill_(new org.bytedeco.pytorch.Scalar(Double.POSITIVE_INFINITY));
        expect("argument 'y' contains an infinity (first at index [0, 4])",
                () -> Ops.prefixLstsq(randn(ScalarType.Double, 2, 5, 3), y, 0));
        expect("argument 'lambda' must be finite and >= 0",
                () -> Ops.prefixLstsq(randn(ScalarType.Double, 2, 5, 3), randn(ScalarType.Double, 2, 5), Double.NaN));
    }

    @Test
    void emptyTensors() {
        Tensor noSteps = q.narrow(2, 0, 0);
        expect("sequence length T (dim 2 of 'q') must be at least 1", () -> Ops.attention(noSteps, noSteps, noSteps, true));
        expect("the number of points n (dim 1 of 'x') must be at least 1",
                () -> Ops.prefixLstsq(randn(ScalarType.Double, 2, 0, 3), randn(ScalarType.Double, 2, 0), 0));
        // An empty batch is not an error: it gives an empty result.
        Tensor noBatch = q.narrow(0, 0, 0);
        assertEquals(0, Ops.attention(noBatch, noBatch, noBatch, true).numel());
    }

    @Test
    void nonContiguousViewsAreAcceptedAndExact() {
        Tensor base = randn(ScalarType.Double, 2, 8, 2, 4);  // (B, T, H, D)
        Tensor view = base.transpose(1, 2);                    // (B, H, T, D), not contiguous
        assertTrue(!view.is_contiguous());
        Tensor a = Ops.attention(view, view, view, true);
        Tensor b = Ops.attention(view.contiguous(), view.contiguous(), view.contiguous(), true);
        assertEquals(0.0, Tensors.maxAbsDiff(a, b));
        Tensor x = randn(ScalarType.Double, 6, 3, 2).transpose(0, 1);  // (B=3, n=6, d=2) view
        Tensor y = randn(ScalarType.Double, 6, 3).transpose(0, 1);
        assertEquals(0.0, Tensors.maxAbsDiff(Ops.prefixLstsq(x, y, 0), Ops.prefixLstsq(x.contiguous(), y.contiguous(), 0)));
    }

    @Test
    void nullArgumentsNameTheArgument() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> Ops.attention(q, null, q, false));
        assertEquals("k", e.getMessage());
    }

    /**
     * Native failures are classified by kind: a bad argument is an IllegalArgumentException, an op failing on valid
     * arguments (a CUDA kernel error, an overflow) is a NativeOpException; the tag that carries the kind across
     * JNI never reaches the user. (The native side of the classification is tested in test_prefix_lstsq.)
     */
    @Test
    void nativeErrorsAreClassifiedByKind() {
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> Ops.attention(q.select(0, 0), q, q, false));
        assertTrue(bad.getMessage().startsWith("incontext.attention: argument 'q'"), bad.getMessage());
        RuntimeException kernel = Ops.translate(new RuntimeException(
                "[op-failure] incontext.attention: CUDA kernel failed: an illegal memory access was encountered"));
        assertEquals(NativeOpException.class, kernel.getClass());
        assertEquals("incontext.attention: CUDA kernel failed: an illegal memory access was encountered",
                kernel.getMessage());
        RuntimeException overflow = Ops.translate(new RuntimeException("[op-failure] incontext.prefix_lstsq: the "
                + "result overflowed (non-finite predictions from finite inputs)"));
        assertEquals(NativeOpException.class, overflow.getClass());
        RuntimeException argument = Ops.translate(new RuntimeException("[invalid-argument] incontext.prefix_knn: "
                + "argument 'k' must be >= 1"));
        assertEquals(IllegalArgumentException.class, argument.getClass());
        assertEquals("incontext.prefix_knn: argument 'k' must be >= 1", argument.getMessage());
        // Untagged (std::bad_alloc and the like): a native failure, never an argument error.
        assertEquals(NativeOpException.class, Ops.translate(new RuntimeException("std::bad_alloc")).getClass());
        // The kind survives the JNI round trip: a CUDA generator in a CPU-only build is a bad argument here.
        if (!org.bytedeco.pytorch.global.torch.cuda_is_available()) {
            IllegalArgumentException g = assertThrows(IllegalArgumentException.class, () -> Ops.makeGenerator("cuda", 1));
            assertTrue(g.getMessage().startsWith("incontext.make_generator:"), g.getMessage());
        }
    }
}

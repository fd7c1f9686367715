package dev.incontext.ops;

import static dev.incontext.util.Tensors.randn;
import static dev.incontext.util.Tensors.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * prefix_lstsq with lambda = 0 equals the per-prefix SVD pseudo-inverse solution (libtorch linalg_pinv) in
 * float64, including k &lt; d, duplicated points, d = 1 and n = 1. Tolerance 1e-9 relative.
 */
@ExtendWith(SeedOnFailure.class)
class PrefixLstsqTest {
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

    @ParameterizedTest(name = "B={0} n={1} d={2}")
    @CsvSource({"5, 41, 20", "4, 11, 20", "6, 9, 1", "3, 1, 4", "2, 25, 25"})
    void minimumNormMatchesPinv(long b, long n, long d) {
        Tensor x = randn(ScalarType.Double, b, n, d);
        Tensor y = randn(ScalarType.Double, b, n);
        Tensor ours = Ops.prefixLstsq(x, y, 0.0);
        assertEquals(b, ours.size(0));
        assertEquals(n, ours.size(1));
        double err = relErr(ours, LibtorchReference.prefixLstsq(x, y, 0.0));
        assertTrue(err <= 1e-9, "relative error " + err);
        assertEquals(0.0, ours.select(1, 0).abs().max().item_double(), "prediction with no points must be 0");
    }

    @Test
    void duplicatedPointsGiveTheMinimumNormSolution() {
        Tensor x = randn(ScalarType.Double, 4, 16, 6);
        Tensor y = randn(ScalarType.Double, 4, 16);
        for (long i : new long[] {3, 4, 9}) {  // repeat point 1 (x and y) three times
            x.select(1, i).copy_(x.select(1, 1));
            y.select(1, i).copy_(y.select(1, 1));
        }
        double err = relErr(Ops.prefixLstsq(x, y, 0.0), LibtorchReference.prefixLstsq(x, y, 0.0));
        assertTrue(err <= 1e-9, "relative error " + err);
    }

    @Test
    void ridgeMatchesNormalEquations() {
        Tensor x = randn(ScalarType.Double, 4, 21, 8);
        Tensor y = randn(ScalarType.Double, 4, 21);
        double err = relErr(Ops.prefixLstsq(x, y, 0.5), LibtorchReference.prefixLstsq(x, y, 0.5));
        assertTrue(err <= 1e-9, "relative error " + err);
    }

    @Test
    void referenceAndOpAgree() {
        Tensor x = randn(ScalarType.Double, 3, 30, 7);
        Tensor y = randn(ScalarType.Double, 3, 30);
        double err = relErr(Ops.prefixLstsq(x, y, 0.0), Ops.prefixLstsqReference(x, y, 0.0));
        assertTrue(err <= 1e-12, "relative error " + err);
    }
}

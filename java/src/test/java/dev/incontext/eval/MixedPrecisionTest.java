package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.RunConfig.Precision;
import dev.incontext.model.Predictor;
import dev.incontext.ops.Autocast;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** eval.precision: the transformer's forward passes under bf16 or fp16 autocast, its predictions back in float32. */
class MixedPrecisionTest {
    /** A predictor whose one product autocast turns into bfloat16: x_k . w with a fixed w. */
    private static final Predictor PRODUCT = new Predictor() {
        @Override
        public Tensor predict(PromptBatch batch, Tensor queries) {
            Tensor w = torch.linspace(new org.bytedeco.pytorch.Scalar(-1.0), new org.bytedeco.pytorch.Scalar(1.0),
                    batch.xs().size(2), new org.bytedeco.pytorch.TensorOptions(ScalarType.Float));
            return torch.matmul(batch.xs(), w);
        }

        @Override
        public String name() {
            return "product";
        }
    };

    /** A fixed batch: 4 prompts of 7 points in 5 dimensions. */
    private static PromptBatch batch() {
        torch.manual_seed(3);
        Tensor xs = Tensors.randn(ScalarType.Float, 4, 7, 5);
        return new PromptBatch(xs, Tensors.randn(ScalarType.Float, 4, 7), Map.of(), 5);
    }

    /** low's predictions come back in float32, rounded (not equal to float32's) but within tol of the largest. */
    private static void assertRounded(Predictor low, PromptBatch batch, double tol) {
        Tensor got = low.predict(batch, null);
        assertEquals(ScalarType.Float, got.scalar_type().intern(), "widened to the labels' dtype");
        double[] exact = Tensors.toDoubleArray(PRODUCT.predict(batch, null));
        double[] values = Tensors.toDoubleArray(got);
        assertNotEquals(Arrays.toString(exact), Arrays.toString(values), "the low precision should round the product");
        double scale = Arrays.stream(exact).map(Math::abs).max().orElse(1);
        for (int i = 0; i < exact.length; i++) {
            assertTrue(Math.abs(exact[i] - values[i]) <= tol * scale, "entry " + i + ": " + values[i] + " vs " + exact[i]);
        }
    }

    @Test
    void bf16ForwardPassesComeBackAsFloat32() {
        try (PointerScope scope = new PointerScope()) {
            PromptBatch batch = batch();
            assertSame(PRODUCT, MixedPrecision.of(PRODUCT, Precision.FLOAT32, "cpu"));
            Predictor bf16 = MixedPrecision.of(PRODUCT, Precision.BF16, "cpu");
            assertEquals("product", bf16.name());
            if (!Autocast.cpuHasBf16()) {
                assertSame(PRODUCT, bf16, "no hardware bfloat16: evaluation stays float32");
                return;
            }
            assertRounded(bf16, batch, 0.02);
        }
    }

    /** fp16 runs on any device (emulated on most CPUs): float16 rounds inputs and output to 2^-11 relative. */
    @Test
    void fp16ForwardPassesComeBackAsFloat32() {
        try (PointerScope scope = new PointerScope()) {
            assertRounded(MixedPrecision.of(PRODUCT, Precision.FP16, "cpu"), batch(), 0.01);
        }
    }
}

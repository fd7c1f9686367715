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

    @Test
    void bf16ForwardPassesComeBackAsFloat32() {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(3);
            Tensor xs = Tensors.randn(ScalarType.Float, 4, 7, 5);
            PromptBatch batch = new PromptBatch(xs, Tensors.randn(ScalarType.Float, 4, 7), Map.of(), 5);
            assertSame(PRODUCT, MixedPrecision.of(PRODUCT, Precision.FLOAT32, "cpu"));
            Predictor bf16 = MixedPrecision.of(PRODUCT, Precision.BF16, "cpu");
            assertEquals("product", bf16.name());
            Tensor low = bf16.predict(batch, null);
            assertEquals(ScalarType.Float, low.scalar_type().intern(), "widened to the labels' dtype");
            double[] exact = Tensors.toDoubleArray(PRODUCT.predict(batch, null));
            double[] got = Tensors.toDoubleArray(low);
            if (!Autocast.cpuHasBf16()) {
                assertSame(PRODUCT, bf16, "no hardware bfloat16: evaluation stays float32");
                return;
            }
            assertNotEquals(Arrays.toString(exact), Arrays.toString(got), "bf16 should round the product");
            double scale = Arrays.stream(exact).map(Math::abs).max().orElse(1);
            for (int i = 0; i < exact.length; i++) {
                assertTrue(Math.abs(exact[i] - got[i]) <= 0.02 * scale, "entry " + i + ": " + got[i] + " vs " + exact[i]);
            }
        }
    }

    /** fp16 runs on any device (emulated on most CPUs): the product rounded to float16's 11 bits, read back in float32. */
    @Test
    void fp16ForwardPassesComeBackAsFloat32() {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(3);
            Tensor xs = Tensors.randn(ScalarType.Float, 4, 7, 5);
            PromptBatch batch = new PromptBatch(xs, Tensors.randn(ScalarType.Float, 4, 7), Map.of(), 5);
            Predictor fp16 = MixedPrecision.of(PRODUCT, Precision.FP16, "cpu");
            Tensor low = fp16.predict(batch, null);
            assertEquals(ScalarType.Float, low.scalar_type().intern(), "widened to the labels' dtype");
            double[] exact = Tensors.toDoubleArray(PRODUCT.predict(batch, null));
            double[] got = Tensors.toDoubleArray(low);
            assertNotEquals(Arrays.toString(exact), Arrays.toString(got), "fp16 should round the product");
            double scale = Arrays.stream(exact).map(Math::abs).max().orElse(1);
            for (int i = 0; i < exact.length; i++) {
                // float16 rounds inputs and output to 2^-11 relative; a 5-term product stays well inside 1%.
                assertTrue(Math.abs(exact[i] - got[i]) <= 0.01 * scale, "entry " + i + ": " + got[i] + " vs " + exact[i]);
            }
        }
    }
}

package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.testing.NativeScope;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The accuracy metric's reference line is chance, and the zero predictor does not reach it: code and docs agree. */
@ExtendWith(NativeScope.class)
class MetricTest {
    @Test
    void accuracyOfTheZeroPredictorIsZeroAndChanceIsHalf() {
        Metric m = new Metric.Accuracy();
        torch.manual_seed(3);
        Tensor labels = torch.randn(new long[] {4000, 1}).sign();   // ±1, symmetric
        double zero = m.score(torch.zeros_like(labels), labels, 1.0).mean().item_double();
        double constant = m.score(torch.ones_like(labels), labels, 1.0).mean().item_double();
        assertEquals(0.0, zero, "sign(0) = 0 matches no ±1 label");
        // A constant sign scores the fraction of labels of that sign: 0.5 within 4 standard errors (0.5 / sqrt(4000)).
        assertEquals(m.trivial(), constant, 4 * 0.5 / Math.sqrt(4000));
        assertEquals(0.5, m.trivial());
        assertEquals(1.0, new Metric.SquaredError().score(torch.zeros_like(labels), labels, 1.0).mean().item_double());
    }

    /**
     * The evaluation guide says what the metric does: chance is the accuracy line and the zero predictor scores 0 on
     * it. (It used to say, beside the normalisers, that the zero predictor scores 0.5 accuracy.)
     */
    @Test
    void theGuideStatesTheZeroPredictorsAccuracy() throws Exception {
        String guide = Files.readString(Path.of("..", "docs", "evaluation.md"), StandardCharsets.UTF_8);
        assertTrue(guide.contains("chance, " + new Metric.Accuracy().trivial()), "the guide names chance's level");
        assertTrue(guide.contains("The zero predictor scores 0 there"),
                "the guide states the zero predictor's accuracy");
        assertFalse(guide.contains("0.5 accuracy"), "the guide says the zero predictor scores 0.5 accuracy");
    }
}

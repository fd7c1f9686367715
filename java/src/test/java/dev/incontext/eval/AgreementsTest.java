package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.eval.baselines.Averaging;
import dev.incontext.eval.baselines.LeastSquares;
import dev.incontext.eval.baselines.Zero;
import dev.incontext.tasks.TaskFamily;
import dev.incontext.testing.NativeScope;
import java.util.List;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class AgreementsTest {
    private static final TensorOptions F64 = new TensorOptions(torch.ScalarType.Double);

    /**
     * SPD of a predictor with itself is 0; least squares' implicit weights equal the true w once k >= d (ILWD 0,
     * float64 round-off only) and are the projection of w before (ILWD (d - k)/d, §9.2); the zero predictor's SPD
     * against the truth is 1 and its ILWD 1 at every k; averaging's SPD against least squares is its own error past d.
     */
    @Test
    void closedForms() {
        TaskConfig lr = ConfigLoader.load(RunConfig.class, "demo", List.of()).task();
        int d = lr.nDims();
        Oracle truth = new Oracle(TaskFamily.of(lr));
        List<Agreement> a = Agreements.measure(truth, List.of(truth, new LeastSquares(0), new Zero(), new Averaging()),
                lr, 11, 101, new Setting.Standard(), new Evaluator.Request(4000, 1000, 5, F64, false), 0);
        Agreement self = a.get(0);
        Agreement ls = a.get(1);
        Agreement zero = a.get(2);
        for (int k = 0; k < 11; k++) {
            assertEquals(0.0, self.spd()[k], 1e-12);
            assertEquals(0.0, self.ilwd()[k], 1e-12);
        }
        for (int k = d; k < 11; k++) {
            assertEquals(0.0, ls.ilwd()[k], 1e-9, "least squares vs truth at k=" + k);
            assertEquals(0.0, ls.spd()[k], 1e-9);
        }
        for (int k = 1; k < d; k++) {
            // Monte Carlo over 4000 prompts: ||(I - P_k) w||^2 / d has variance below 2 (d - k)/d^2; 6 se < 0.05.
            assertEquals((d - k) / (double) d, ls.ilwd()[k], 0.05, "least squares ILWD at k=" + k);
        }
        for (int k = 0; k < 11; k++) {
            assertEquals(1.0, zero.ilwd()[k], 0.12, "zero ILWD at k=" + k);
            assertEquals(1.0, zero.spd()[k], 0.12, "zero SPD at k=" + k);
        }
        assertTrue(zero.mspd() > 0.8 && zero.mspd() < 1.2);
        assertTrue(Double.isFinite(a.get(3).mspd()));
    }
}

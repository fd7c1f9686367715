package dev.incontext.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.ops.Ops;
import dev.incontext.util.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dynamic loss scaling (training.precision: fp16): the unscale pass, GradScaler's update rule, a skipped step. */
class LossScalerTest {
    private PointerScope scope;

    @BeforeEach
    void open() {
        scope = new PointerScope();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    /** Leaf parameters whose gradients are {@code grads[i]} times {@code scale}. */
    private static TensorVector params(double scale, double[]... grads) {
        TensorVector v = new TensorVector();
        for (double[] g : grads) {
            Tensor p = torch.zeros(new long[] {g.length}, new TensorOptions(torch.ScalarType.Float)).requires_grad_(true);
            p.mutable_grad().put(floats(g).mul(new Scalar(scale)));
            v.push_back(p);
        }
        return v;
    }

    private static Tensor floats(double... values) {
        return Tensors.fromDoubles(values).to(torch.ScalarType.Float);
    }

    @Test
    void unscaleDividesExactlyAndFindsInfinitiesAndNaNs() {
        LossScaler s = new LossScaler("cpu", 1024.0, 10);
        double[] a = {0.5, -3e-8, 7};
        double[] b = {1e-30, 2};
        TensorVector ok = params(1024.0, a, b);
        assertTrue(s.unscale(ok), "finite gradients");
        assertArrayEquals(Tensors.toDoubleArray(floats(a)), Tensors.toDoubleArray(ok.get(0).grad()),
                "divided by the scale exactly (a power of two)");
        assertArrayEquals(Tensors.toDoubleArray(floats(b)), Tensors.toDoubleArray(ok.get(1).grad()));
        assertFalse(s.unscale(params(1.0, a, new double[] {1, Double.POSITIVE_INFINITY})), "an infinity");
        assertFalse(s.unscale(params(1.0, new double[] {Double.NaN}, b)), "a NaN");
        // A parameter without a gradient is left alone.
        TensorVector partial = params(1.0, a);
        partial.push_back(torch.zeros(new long[] {2}, new TensorOptions(torch.ScalarType.Float)).requires_grad_(true));
        assertTrue(s.unscale(partial));
    }

    @Test
    void unscaleRefusesGradientsItCannotScale() {
        Tensor found = torch.zeros(new long[] {1}, new TensorOptions(torch.ScalarType.Float));
        Tensor inv = torch.ones(new long[] {1}, new TensorOptions(torch.ScalarType.Float));
        TensorVector doubles = new TensorVector(torch.ones(new long[] {2}, new TensorOptions(torch.ScalarType.Double)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.unscaleGradients(doubles, found, inv));
        assertTrue(e.getMessage().contains("gradient 0 has dtype Double"), e.getMessage());
        Tensor wide = torch.zeros(new long[] {2}, new TensorOptions(torch.ScalarType.Float));
        TensorVector floats = new TensorVector(torch.ones(new long[] {2}, new TensorOptions(torch.ScalarType.Float)));
        e = assertThrows(IllegalArgumentException.class, () -> Ops.unscaleGradients(floats, wide, inv));
        assertTrue(e.getMessage().contains("found_inf"), e.getMessage());
    }

    /** GradScaler's rule: doubled after `interval` finite steps in a row, halved (and the run reset) on an overflow. */
    @Test
    void scaleGrowsAfterTheIntervalAndBacksOffOnOverflow() {
        LossScaler s = new LossScaler("cpu", 8.0, 3);
        s.update(true, 0, 1e-3);
        s.update(true, 1, 1e-3);
        assertEquals(new LossScaler.State(8.0, 2), s.state());
        s.update(false, 2, 1e-3);
        assertEquals(new LossScaler.State(4.0, 0), s.state(), "an overflow halves the scale and resets the count");
        s.update(true, 3, 1e-3);
        s.update(true, 4, 1e-3);
        s.update(true, 5, 1e-3);
        assertEquals(new LossScaler.State(8.0, 0), s.state(), "three finite steps in a row double it");
        assertEquals(1, s.skipped());
        assertEquals(new LossScaler.State(LossScaler.INITIAL_SCALE, 0), new LossScaler("cpu").state());
    }

    @Test
    void overflowAtEveryScaleIsDivergence() {
        LossScaler s = new LossScaler("cpu", LossScaler.MIN_SCALE * 2, 10);
        s.update(false, 5, 1e-3);
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> s.update(false, 6, 1e-3));
        assertEquals(6, e.step());
        assertTrue(e.getMessage().contains("fp16 gradients not finite at any loss scale"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LossScaler.State(0.0, 0));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler.State(Double.POSITIVE_INFINITY, 0));
    }

    /**
     * A real overflow: at a scale of 2^100 the float16 backward pass overflows, so the step is skipped (parameters
     * untouched, bit for bit) and the scale halves; the next step, at scale 1, trains.
     */
    @Test
    void anOverflowingStepLeavesTheParametersAsTheyWere(@TempDir Path dir) {
        RunConfig c = ConfigLoader.load(RunConfig.class, "demo", List.of("model.preset=custom", "model.n_layer=1",
                "model.n_head=2", "model.n_embd=16", "training.steps=4", "training.threads=1",
                "training.batch_size=8", "training.precision=fp16", "seed=7", "out_dir=" + dir));
        TrainingStep step = TrainingStep.fresh(c);
        step.lossScaler().restore(new LossScaler.State(0x1p100, 0));
        List<double[]> before = values(step.model().module().parameters());
        step.run(0);
        List<double[]> after = values(step.model().module().parameters());
        for (int i = 0; i < before.size(); i++) {
            assertArrayEquals(before.get(i), after.get(i), "parameter " + i + " changed in a skipped step");
        }
        assertEquals(new LossScaler.State(0x1p99, 0), step.lossScaler().state());
        step.lossScaler().restore(new LossScaler.State(1.0, 0));
        step.run(1);
        assertEquals(new LossScaler.State(1.0, 1), step.lossScaler().state());
        List<double[]> trained = values(step.model().module().parameters());
        boolean moved = false;
        for (int i = 0; i < before.size(); i++) {
            moved |= !java.util.Arrays.equals(before.get(i), trained.get(i));
        }
        assertTrue(moved, "a finite step updates the parameters");
    }

    private static List<double[]> values(TensorVector params) {
        List<double[]> out = new ArrayList<>();
        for (long i = 0; i < params.size(); i++) {
            out.add(Tensors.toDoubleArray(params.get(i).detach().reshape(-1)));
        }
        return out;
    }
}

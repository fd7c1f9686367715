package dev.incontext.train;

import dev.incontext.util.Tensors;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Finds the first step whose loss is not finite. On the CPU the check is immediate (reading a CPU scalar costs
 * nothing, and stopping before the optimiser step keeps the parameters finite). On a GPU, reading the loss every
 * step would synchronise the host with the device; there the first bad step and its loss are recorded on the
 * device, in place, and read only at {@link #check()}, which the trainer calls at every logged step, before every
 * checkpoint and at the end, so a diverged run still stops naming the step where it diverged and never saves it.
 */
final class DivergenceGuard {
    private final boolean deferred;
    private final double learningRate;
    private Tensor firstBadStep;   // int64 scalar on the device; -1 while every loss was finite
    private Tensor firstBadLoss;   // float64 scalar on the device

    DivergenceGuard(boolean deferred, double learningRate) {
        this.deferred = deferred;
        this.learningRate = learningRate;
    }

    /** Records the loss of {@code step}; in immediate mode throws at once when it is not finite. */
    void observe(long step, Tensor loss) {
        if (!deferred) {
            double v = loss.item_double();
            if (!Double.isFinite(v)) {
                throw diverged(step, "loss " + format(v), null);
            }
            return;
        }
        Tensor l = loss.detach().to(torch.ScalarType.Double);
        if (firstBadStep == null) {
            firstBadStep = Tensors.keep(torch.full(new long[] {}, new Scalar(-1L), l.options().dtype(
                    new ScalarTypeOptional(torch.ScalarType.Long))));
            firstBadLoss = Tensors.keep(torch.zeros(new long[] {}, l.options()));
        }
        // New bad step only if none was recorded yet: all device work, no host synchronisation.
        Tensor fresh = torch.isfinite(l).logical_not().logical_and(firstBadStep.lt(new Scalar(0)));
        firstBadStep.copy_(torch.where(fresh, new Scalar(step), firstBadStep));
        firstBadLoss.copy_(torch.where(fresh, l, firstBadLoss));
    }

    /** Throws if a non-finite loss was recorded (deferred mode); a no-op in immediate mode. */
    void check() {
        if (firstBadStep == null) {
            return;
        }
        long step = firstBadStep.item_long();
        if (step >= 0) {
            throw diverged(step, "loss " + format(firstBadLoss.item_double()), null);
        }
    }

    /**
     * Runs a model's forward pass, turning the attention op's refusal of a non-finite input into divergence: the
     * batch is finite by construction, so a NaN or infinity inside the model means the parameters, or the activations
     * they produce, stopped being finite. Any other argument error is rethrown as it is.
     */
    <R> R forward(long step, TensorVector params, Supplier<R> forward) {
        try {
            return forward.get();
        } catch (IllegalArgumentException e) {
            check();
            if (!allFinite(params)) {
                throw diverged(step, "the parameters are no longer finite after step " + (step - 1), e);
            }
            if (String.valueOf(e.getMessage()).contains("inputs must be finite")) {
                throw diverged(step, "the activations overflowed: the parameters grew too large", e);
            }
            throw e;
        }
    }

    /**
     * Throws unless every parameter is finite: called before a checkpoint is written (a finite loss can still come
     * with an overflowing gradient).
     */
    void requireFiniteParameters(long step, TensorVector params) {
        check();
        if (!allFinite(params)) {
            throw diverged(step, "the parameters are no longer finite after the optimiser step; no checkpoint "
                    + "written", null);
        }
    }

    static boolean allFinite(TensorVector params) {
        for (long i = 0; i < params.size(); i++) {
            if (!Tensors.allFinite(params.get(i))) {
                return false;
            }
        }
        return true;
    }

    TrainingDivergedException diverged(long step, String what, Throwable cause) {
        return new TrainingDivergedException(step, what, learningRate, cause);
    }

    private static String format(double v) {
        return Double.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
    }
}

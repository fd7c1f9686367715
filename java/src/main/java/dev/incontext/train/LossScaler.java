package dev.incontext.train;

import dev.incontext.ops.Ops;
import dev.incontext.util.Devices;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Dynamic loss scaling for float16 training ({@code training.precision: fp16}), with the rules and defaults of
 * PyTorch's {@code GradScaler}: the loss is multiplied by the scale before backward, so that small gradients do not
 * flush to zero in float16; the gradients are divided by it again (exactly: the scale is a power of two) and checked
 * in one fused pass; a step whose gradients hold an infinity or NaN is skipped and halves the scale, and every
 * {@link #GROWTH_INTERVAL} finite steps in a row double it.
 *
 * <p>The scale and the count of finite steps since the last change are part of the training state: checkpoints keep
 * them ({@link #state()}, {@link #restore}), so a resumed fp16 run continues bit for bit.
 */
final class LossScaler {
    /** GradScaler's defaults: initial scale 2^16, doubled after 2000 finite steps, halved on an overflow. */
    static final double INITIAL_SCALE = 65536.0;
    static final double GROWTH_FACTOR = 2.0;
    static final double BACKOFF_FACTOR = 0.5;
    static final long GROWTH_INTERVAL = 2000;
    /**
     * Below this scale (2^-24, float16's smallest subnormal; reached after 40 overflows in a row from the initial
     * scale) the gradients are not finite at any useful scale: training has diverged, and is stopped instead of
     * skipping every step.
     */
    static final double MIN_SCALE = 0x1p-24;

    /** The state a checkpoint keeps. */
    record State(double scale, long growthTracker) {
        State {
            if (!(scale > 0) || Double.isInfinite(scale) || growthTracker < 0) {
                throw new IllegalArgumentException("a loss scale must be positive and finite and its growth tracker "
                        + "at least 0; got scale " + scale + ", tracker " + growthTracker);
            }
        }
    }

    private final String device;
    private final long growthInterval;
    private double scale;
    private long growthTracker;
    private long skipped;

    LossScaler(String device) {
        this(device, INITIAL_SCALE, GROWTH_INTERVAL);
    }

    LossScaler(String device, double initialScale, long growthInterval) {
        if (growthInterval < 1) {
            throw new IllegalArgumentException("growth interval must be >= 1; got " + growthInterval);
        }
        this.device = device;
        this.growthInterval = growthInterval;
        restore(new State(initialScale, 0));
    }

    /** The loss times the current scale: what backward runs on. */
    Tensor scaled(Tensor loss) {
        return loss.mul(new Scalar(scale));
    }

    /**
     * Divides the gradients of {@code params} by the scale and says whether all of them are finite (one read back
     * from the device). Parameters without a gradient are left alone.
     */
    boolean unscale(TensorVector params) {
        TensorVector grads = new TensorVector();
        for (long i = 0; i < params.size(); i++) {
            Tensor g = params.get(i).grad();
            if (g.defined()) {
                grads.push_back(g);
            }
        }
        TensorOptions f32 = Devices.float32(device);
        Tensor foundInf = torch.zeros(new long[] {1}, f32);
        Tensor inv = torch.full(new long[] {1}, new Scalar(1.0 / scale), f32);
        Ops.unscaleGradients(grads, foundInf, inv);
        return foundInf.item_float() == 0f;
    }

    /**
     * Updates the scale after step {@code step}: halved (and the step counted as skipped) when its gradients were not
     * finite, doubled after {@code growthInterval} finite steps in a row. Throws {@link TrainingDivergedException}
     * when the scale falls below {@link #MIN_SCALE}.
     */
    void update(boolean finite, long step, double learningRate) {
        if (finite) {
            if (++growthTracker >= growthInterval) {
                scale *= GROWTH_FACTOR;
                growthTracker = 0;
            }
            return;
        }
        skipped++;
        scale *= BACKOFF_FACTOR;
        growthTracker = 0;
        if (scale < MIN_SCALE) {
            throw new TrainingDivergedException(step, "fp16 gradients not finite at any loss scale down to "
                    + MIN_SCALE + ", " + skipped + " steps skipped in all", learningRate, null);
        }
    }

    double scale() {
        return scale;
    }

    /** Steps skipped by this scaler since it was made (not kept in checkpoints). */
    long skipped() {
        return skipped;
    }

    State state() {
        return new State(scale, growthTracker);
    }

    void restore(State s) {
        scale = s.scale();
        growthTracker = s.growthTracker();
    }
}

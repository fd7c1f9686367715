package dev.incontext.train;

import dev.incontext.config.RunConfig.TrainingConfig;
import java.util.List;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * The one optimiser builder: Adam or AdamW with the config's learning rate, betas, eps and weight decay, over one
 * parameter group, or two when some parameters are exempt from weight decay (the second group decays nothing).
 * The schedule sets the learning rate of every group before each step ({@link #setLearningRate}).
 */
public final class Optimizers {
    private Optimizers() {}

    /**
     * An optimiser over {@code decay} (weight decay as configured) and {@code noDecay} (none). With {@code noDecay}
     * empty this is the plain one-group optimiser.
     */
    public static Optimizer build(TrainingConfig t, List<Tensor> decay, List<Tensor> noDecay) {
        TensorVector all = vector(decay);
        if (noDecay.isEmpty()) {
            return switch (t.optimizer()) {
                case ADAM -> new Adam(all, adamOptions(t));
                case ADAMW -> new AdamW(all, adamWOptions(t));
            };
        }
        OptimizerParamGroupVector groups = new OptimizerParamGroupVector(new OptimizerParamGroup(all),
                new OptimizerParamGroup(vector(noDecay)));
        // Groups given without options receive a copy of the defaults (libtorch's Optimizer::add_param_group); the
        // second group's copy is switched to no decay.
        return switch (t.optimizer()) {
            case ADAM -> {
                Adam o = new Adam(groups, adamOptions(t));
                new AdamOptions(o.param_groups().get(1).options()).weight_decay().put(0.0);
                yield o;
            }
            case ADAMW -> {
                AdamW o = new AdamW(groups, adamWOptions(t));
                new AdamWOptions(o.param_groups().get(1).options()).weight_decay().put(0.0);
                yield o;
            }
        };
    }

    /** The weight decay a parameter group of an optimiser built here applies. */
    public static double groupWeightDecay(Optimizer optimizer, int group) {
        var options = optimizer.param_groups().get(group).options();
        return optimizer instanceof AdamW ? new AdamWOptions(options).weight_decay().get()
                : new AdamOptions(options).weight_decay().get();
    }

    /** (beta1, beta2) of a parameter group, in that order. */
    public static double[] groupBetas(Optimizer optimizer, int group) {
        var options = optimizer.param_groups().get(group).options();
        DoublePointer b = optimizer instanceof AdamW ? new AdamWOptions(options).betas()
                : new AdamOptions(options).betas();
        int slot = beta1Slot();
        return new double[] {b.get(slot), b.get(1 - slot)};
    }

    static void setLearningRate(Optimizer optimizer, double lr) {
        OptimizerParamGroupVector groups = optimizer.param_groups();
        for (long i = 0; i < groups.size(); i++) {
            groups.get(i).options().set_lr(lr);
        }
    }

    private static AdamOptions adamOptions(TrainingConfig t) {
        AdamOptions o = new AdamOptions(t.learningRate());
        setBetas(o.betas(), t);
        o.eps().put(t.eps());
        o.weight_decay().put(t.weightDecay());
        return o;
    }

    private static AdamWOptions adamWOptions(TrainingConfig t) {
        AdamWOptions o = new AdamWOptions(t.learningRate());
        setBetas(o.betas(), t);
        o.eps().put(t.eps());
        o.weight_decay().put(t.weightDecay());
        return o;
    }

    private static TensorVector vector(List<Tensor> params) {
        return new TensorVector(params.toArray(new Tensor[0]));
    }

    /** Where beta1 sits in the options' std::tuple, read off fresh options holding the C++ defaults. */
    private static int beta1Slot() {
        return new AdamOptions(1.0).betas().get(0) == 0.9 ? 0 : 1;
    }

    /**
     * Writes (beta1, beta2) into fresh options' std::tuple. libstdc++ lays a tuple out in reverse order, so the slot
     * of beta1 is found from the C++ defaults (0.9, 0.999) rather than assumed.
     */
    static void setBetas(DoublePointer betas, TrainingConfig t) {
        int beta1Slot = betas.get(0) == 0.9 ? 0 : 1;
        if (betas.get(beta1Slot) != 0.9 || betas.get(1 - beta1Slot) != 0.999) {
            throw new IllegalStateException("unexpected layout of the Adam betas tuple: " + betas.get(0) + ", "
                    + betas.get(1));
        }
        betas.put(beta1Slot, t.beta1()).put(1 - beta1Slot, t.beta2());
    }
}

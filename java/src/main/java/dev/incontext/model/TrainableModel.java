package dev.incontext.model;

import org.bytedeco.pytorch.Module;

/**
 * What the trainer needs of any model: the libtorch {@link Module} holding its parameters (for the optimiser and
 * checkpoints). The regression models ({@link InContextModel}) and the token decoder ({@link RopeDecoder}) both are one.
 */
public interface TrainableModel {
    /** The parameters (for optimisers and checkpoints). */
    Module module();

    /** Number of scalar parameters. */
    default long parameterCount() {
        long n = 0;
        var params = module().parameters();
        for (long i = 0; i < params.size(); i++) {
            n += params.get(i).numel();
        }
        return n;
    }
}

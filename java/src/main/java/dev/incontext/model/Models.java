package dev.incontext.model;

import dev.incontext.config.RunConfig;
import dev.incontext.ops.Rng;
import org.bytedeco.pytorch.TensorOptions;

/** Builds the model a config names, initialised from the run's INIT random stream. */
public final class Models {
    private Models() {}

    public static InContextModel create(RunConfig c, TensorOptions o) {
        var gen = Rng.on(o, Rng.derive(c.seed(), Rng.Stream.INIT, 0));
        return switch (c.model().family()) {
            case GPT2 -> new Gpt2Model(c.model(), c.task().nDims(), gen, o);
            case LSA -> new LsaModel(c.task().nDims(), c.model().lsaInitSigma(), gen, o);
        };
    }
}

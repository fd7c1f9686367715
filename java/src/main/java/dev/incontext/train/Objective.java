package dev.incontext.train;

import dev.incontext.config.ModularConfig;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunSpec;
import dev.incontext.model.TrainableModel;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;

/**
 * What a run trains, for the one training loop ({@link Trainer}): the model, the loss of a step's batch, which
 * parameters decay, what the metrics record of a step holds beside the loss, and any evaluation during training.
 * Everything else (the schedule, clipping, the divergence guard, metrics.jsonl, checkpoints, resume, stopping,
 * progress) is the trainer's, the same for every run. A new kind of run is a task family, an objective and a model.
 */
public sealed interface Objective permits RegressionObjective, TokenObjective {
    /** The objective of a run config, its model initialised from the run's INIT stream on {@code options}' device. */
    static Objective of(RunSpec config, TensorOptions options) {
        if (config instanceof RunConfig c) {
            return new RegressionObjective(c, options);
        }
        return new TokenObjective((ModularConfig) config, options);
    }

    /** The run's config, saved as config.yaml and with every checkpoint. */
    RunSpec config();

    TrainableModel model();

    /** Parameters exempt from weight decay (empty: the optimiser's weight decay applies to all). */
    List<Tensor> noDecay();

    /**
     * The loss of training step {@code step} (0-based) on its batch, a pure function of (seed, step); differentiable,
     * not read back. Called inside the caller's {@link org.bytedeco.javacpp.PointerScope}.
     */
    default Tensor loss(long step) {
        return loss(step, Shard.WHOLE);
    }

    /**
     * The loss of one rank's rows of step {@code step}'s global batch (its mean over those rows): the global batch
     * is drawn whole on every rank, then sliced, so that the data does not depend on the world size.
     */
    Tensor loss(long step, Shard shard);

    /** What the metrics record of {@code step} holds beside step, loss, lr and steps/s (e.g. curriculum sizes). */
    Map<String, Object> logFields(long step, double loss);

    /** Whether the objective evaluates after step {@code step} (0-based; {@code last}: the run's last step). */
    default boolean evaluatesAfter(long step, boolean last) {
        return false;
    }

    /** The evaluation after step {@code step}: fields for its metrics record and a line for the console. */
    default Evaluated evaluate(long step) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not evaluate during training");
    }

    /** Steps (counts of steps done) whose checkpoints are written and kept whatever save_every and keep say. */
    default Set<Long> keptCheckpoints() {
        return Set.of();
    }

    /** An evaluation during training: fields of the metrics record, and one line saying what it found. */
    record Evaluated(Map<String, Object> fields, String summary) {}
}

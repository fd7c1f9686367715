package dev.incontext.train;

import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskKind;
import dev.incontext.config.RunConfig.TrainingConfig;
import dev.incontext.model.InContextModel;
import dev.incontext.model.Models;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Regression and classification prompts (Garg et al.): the batch of a step is drawn at the curriculum's size for
 * that step, and the loss is the MSE (BCE with logits for classification) averaged over positions, or at the last
 * position for models trained there only. Every parameter decays as the optimiser says.
 */
public final class RegressionObjective implements Objective {
    private final RunConfig config;
    private final InContextModel model;
    private final TaskSampler sampler;

    RegressionObjective(RunConfig config, TensorOptions options) {
        this.config = config;
        this.model = Models.create(config, options);
        this.sampler = TaskSampler.forRun(config, options);
    }

    @Override
    public RunConfig config() {
        return config;
    }

    @Override
    public InContextModel model() {
        return model;
    }

    @Override
    public List<Tensor> noDecay() {
        return List.of();
    }

    /** eval.n_checkpoints log-spaced checkpoints, for evaluating the run's history afterwards. */
    @Override
    public Set<Long> keptCheckpoints() {
        return Checkpoints.logSpacedSteps(config.training().warmupSteps(), config.training().steps(),
                config.eval().nCheckpoints());
    }

    @Override
    public Tensor loss(long step, Shard shard) {
        TrainingConfig t = config.training();
        int dims = config.curriculum().dimsAt(step);
        int points = config.curriculum().pointsAt(step);
        PromptBatch batch = sampler.sample(t.batchSize(), points, dims,
                sampler.generator(Rng.derive(config.seed(), Rng.Stream.DATA, step)));
        if (!shard.whole()) {
            batch = batch.rows(shard.start(t.batchSize()), shard.size(t.batchSize()));
        }
        Tensor preds = model.forwardForLoss(batch.xs(), batch.ys());
        return loss(preds, batch.ys(), sampler.family().classification(), model.lossOnAllPositions());
    }

    @Override
    public Map<String, Object> logFields(long step, double loss) {
        Map<String, Object> f = new LinkedHashMap<>();
        int dims = config.curriculum().dimsAt(step);
        int points = config.curriculum().pointsAt(step);
        f.put("n_dims", dims);
        f.put("n_points", points);
        Double excess = excessLoss(config, loss, dims, points);
        if (excess != null) {
            f.put("excess_loss", excess);
        }
        return f;
    }

    /**
     * Mean over batch and positions (or the last position only) of MSE, or of BCE with logits on (y + 1) / 2; in the
     * labels' dtype whatever the predictions' (a bf16 forward pass still has a float32 loss).
     */
    public static Tensor loss(Tensor preds, Tensor ys, boolean classification, boolean allPositions) {
        Tensor p = (allPositions ? preds : preds.select(1, preds.size(1) - 1)).to(ys.scalar_type());
        Tensor y = allPositions ? ys : ys.select(1, ys.size(1) - 1);
        if (classification) {
            return torch.binary_cross_entropy_with_logits(p, y.add(new Scalar(1)).mul(new Scalar(0.5)));
        }
        return torch.mse_loss(p, y);
    }

    /**
     * Garg et al.'s excess loss: the loss over the expected loss of least squares on noiseless linear regression,
     * sum_{i<n} max(d - i, 0) / n. Logged for linear regression only; 1 means "as good as OLS".
     */
    static Double excessLoss(RunConfig c, double loss, int dims, int points) {
        if (c.task().name() != TaskKind.LINEAR_REGRESSION) {
            return null;
        }
        double baseline = 0;
        for (int i = 0; i < points; i++) {
            baseline += Math.max(dims - i, 0);
        }
        baseline /= points;
        return baseline > 0 ? loss / (baseline * c.task().yScale() * c.task().yScale()) : null;
    }
}

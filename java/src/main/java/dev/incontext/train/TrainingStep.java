package dev.incontext.train;

import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TrainingConfig;
import dev.incontext.model.InContextModel;
import dev.incontext.model.Models;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Devices;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One training step, the only one in the project: the batch of the step (a pure function of seed and step, at the
 * curriculum's size), the scheduled learning rate, forward, the loss, the divergence check, backward, gradient
 * clipping and the optimiser step. {@link Trainer} runs it in its loop; {@code bench-train} and the JMH benchmark
 * time this same object, so a benchmark measures exactly what training does.
 *
 * <p>Call {@link #run} inside a {@link org.bytedeco.javacpp.PointerScope}: the returned loss tensor lives in it.
 */
public final class TrainingStep {
    private final RunConfig config;
    private final InContextModel model;
    private final Optimizer optimizer;
    private final TaskSampler sampler;
    private final TensorVector params;
    private final DivergenceGuard guard;

    /** What one step did: its loss (a 0-D tensor on the model's device, not read back) and its settings. */
    public record Result(long step, Tensor loss, double learningRate, int dims, int points) {}

    TrainingStep(RunConfig config, InContextModel model, Optimizer optimizer, TensorOptions options) {
        this.config = config;
        this.model = model;
        this.optimizer = optimizer;
        this.sampler = TaskSampler.forRun(config, options);
        this.params = model.module().parameters();
        this.guard = new DivergenceGuard(!options.device().is_cpu(), config.training().learningRate());
    }

    /** A fresh model and optimiser for {@code config} on its device (what a benchmark times). */
    public static TrainingStep fresh(RunConfig config) {
        TensorOptions options = Devices.float32(config.device());
        InContextModel model = Models.create(config, options);
        return new TrainingStep(config, model, Trainer.optimizer(config.training(), model.module().parameters()),
                options);
    }

    public InContextModel model() {
        return model;
    }

    /**
     * Runs training step {@code step}. On the CPU a non-finite loss throws {@link TrainingDivergedException} before
     * the optimiser sees it; on a GPU it is recorded on the device and thrown by {@link #checkDivergence()}.
     */
    public Result run(long step) {
        TrainingConfig t = config.training();
        int dims = config.curriculum().dimsAt(step);
        int points = config.curriculum().pointsAt(step);
        PromptBatch batch = sampler.sample(t.batchSize(), points, dims,
                sampler.generator(Rng.derive(config.seed(), Rng.Stream.DATA, step)));
        double lr = Schedule.lr(t, step);
        Trainer.setLearningRate(optimizer, lr);
        optimizer.zero_grad();
        Tensor preds = guard.forward(step, params, () -> model.forwardForLoss(batch.xs(), batch.ys()));
        Tensor loss = Trainer.loss(preds, batch.ys(), sampler.family().classification(), model.lossOnAllPositions());
        guard.observe(step, loss);   // on the CPU: stops before the optimiser sees a non-finite loss
        loss.backward();
        if (t.gradClip() > 0) {
            torch.clip_grad_norm_(params, t.gradClip());
        }
        optimizer.step();
        return new Result(step, loss, lr, dims, points);
    }

    /** Throws if a non-finite loss was recorded on the device (GPU runs); a no-op when none was. */
    public void checkDivergence() {
        guard.check();
    }

    /** Throws unless every parameter is finite (and no non-finite loss was recorded): before a checkpoint. */
    void requireFiniteParameters(long step) {
        guard.requireFiniteParameters(step, params);
    }
}

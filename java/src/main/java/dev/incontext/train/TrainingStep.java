package dev.incontext.train;

import dev.incontext.config.RunConfig.Precision;
import dev.incontext.config.RunConfig.TrainingConfig;
import dev.incontext.config.RunSpec;
import dev.incontext.model.TrainableModel;
import dev.incontext.ops.Autocast;
import dev.incontext.ops.Memory;
import dev.incontext.util.Devices;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One training step, the only one in the project, for every kind of run: the objective's loss on the step's batch
 * (a pure function of seed and step), the scheduled learning rate, the divergence check, backward, gradient clipping
 * and the optimiser step. {@link Trainer} runs it in its loop; {@code bench-train}, {@code bench-modular} and the
 * JMH benchmark time this same object, so a benchmark measures exactly what training does.
 *
 * <p>Call {@link #run} inside a {@link org.bytedeco.javacpp.PointerScope}: the returned loss tensor lives in it.
 */
public final class TrainingStep {
    private final Objective objective;
    private final Optimizer optimizer;
    private final TensorVector params;
    private final DivergenceGuard guard;
    private final DataParallel parallel;
    private final Precision precision;
    private final LossScaler scaler;
    private final String device;

    /** What one step did: its loss (a 0-D tensor on the model's device, not read back) and its learning rate. */
    public record Result(long step, Tensor loss, double learningRate) {}

    TrainingStep(Objective objective, Optimizer optimizer, TensorOptions options) {
        this(objective, optimizer, options, DataParallel.SINGLE);
    }

    /** A step of one rank of a data-parallel run: its shard of the batch, gradients averaged over the ranks. */
    TrainingStep(Objective objective, Optimizer optimizer, TensorOptions options, DataParallel parallel) {
        this.objective = objective;
        this.optimizer = optimizer;
        this.params = objective.model().module().parameters();
        this.guard = new DivergenceGuard(!options.device().is_cpu(), objective.config().training().learningRate());
        this.parallel = parallel;
        this.device = objective.config().device();
        this.precision = effective(objective.config().training().precision(), device);
        this.scaler = precision == Precision.FP16 ? new LossScaler(device) : null;
    }

    /** The precision a run asking for {@code asked} gets on {@code device} (bf16 without hardware: float32). */
    private static Precision effective(Precision asked, String device) {
        return switch (asked) {
            case FLOAT32 -> Precision.FLOAT32;
            case BF16 -> Autocast.bf16Available(device) ? Precision.BF16 : Precision.FLOAT32;
            case FP16 -> {
                Autocast.noteFp16(device);
                yield Precision.FP16;
            }
        };
    }

    /** The precision this step's forward passes run in (bf16 asked for on a CPU without it: float32). */
    public Precision precision() {
        return precision;
    }

    /** The objective's loss on this step's shard: under bf16 or fp16, the forward pass inside an autocast scope. */
    private Tensor forwardLoss(long step) {
        if (precision == Precision.FLOAT32) {
            return objective.loss(step, parallel.shard());
        }
        try (Autocast scope = precision == Precision.BF16 ? Autocast.bf16(device) : Autocast.fp16(device)) {
            return objective.loss(step, parallel.shard());
        }
    }

    /**
     * A fresh objective (model initialised) and optimiser for {@code config} on its device, with the config's thread
     * counts set (0 leaves them as they are): what a benchmark times.
     */
    public static TrainingStep fresh(RunSpec config) {
        return fresh(config, DataParallel.SINGLE);
    }

    /** As {@link #fresh(RunSpec)}, as one rank of a data-parallel group (its shard, gradients averaged). */
    public static TrainingStep fresh(RunSpec config, DataParallel parallel) {
        Objective objective = Trainer.prepare(config);
        return new TrainingStep(objective, optimizer(objective), Devices.float32(config.device()), parallel);
    }

    /**
     * Times whole steps (batch, forward, backward, optimiser step, reading the loss, which waits for the step):
     * the milliseconds of each of {@code steps} steps after {@code warmup} untimed ones, and the page faults of the
     * timed ones. Nothing is written.
     */
    public StepTimes time(int warmup, int steps) {
        if (steps < 1 || warmup < 0) {
            throw new IllegalArgumentException("a timing needs at least one timed step and no negative warm-up; got "
                    + steps + " timed steps (--steps) and " + warmup + " warm-up steps (--warmup)");
        }
        double[] ms = new double[steps];
        long faults = 0;
        for (int i = 0; i < warmup + steps; i++) {
            try (PointerScope scope = new PointerScope()) {
                long f0 = Memory.minorPageFaults();
                long t0 = System.nanoTime();
                run(i).loss().item_double();
                if (i >= warmup) {
                    ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
                    faults += Memory.minorPageFaults() - f0;
                }
            }
        }
        return new StepTimes(ms, faults);
    }

    /** Step times in milliseconds, in step order, and the minor page faults the process took during them. */
    public record StepTimes(double[] ms, long pageFaults) {
        public double median() {
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            return sorted[sorted.length / 2];
        }

        public double min() {
            return Arrays.stream(ms).min().orElse(Double.NaN);
        }

        public double pageFaultsPerStep() {
            return (double) pageFaults / ms.length;
        }
    }

    /** The optimiser of an objective: its parameters in module order, those it exempts without weight decay. */
    static Optimizer optimizer(Objective objective) {
        List<Tensor> noDecay = objective.noDecay();
        List<Tensor> decay = new ArrayList<>();
        TensorVector all = objective.model().module().parameters();
        for (long i = 0; i < all.size(); i++) {
            Tensor p = all.get(i);
            if (noDecay.stream().noneMatch(p::is_same)) {
                decay.add(p);
            }
        }
        return Optimizers.build(objective.config().training(), decay, noDecay);
    }

    public TrainableModel model() {
        return objective.model();
    }

    public Objective objective() {
        return objective;
    }

    Optimizer optimizer() {
        return optimizer;
    }

    /** The loss scaler of an fp16 step; null in float32 and bf16. */
    LossScaler lossScaler() {
        return scaler;
    }

    /**
     * Runs training step {@code step}. On the CPU a non-finite loss throws {@link TrainingDivergedException} before
     * the optimiser sees it; on a GPU it is recorded on the device and thrown by {@link #checkDivergence()}. In a
     * data-parallel run the loss is this rank's shard's; the result's loss is the global batch's (the mean over the
     * ranks, which every rank checks alike), and the gradients are averaged over the ranks before clipping. Under
     * fp16 backward runs on the scaled loss and the gradients are unscaled before clipping; a step whose gradients
     * overflowed leaves the parameters and the optimiser's state as they were (every rank alike: the averaged
     * gradients carry the overflow to all of them) and lowers the scale.
     */
    public Result run(long step) {
        TrainingConfig t = objective.config().training();
        double lr = Schedule.lr(t, step);
        Optimizers.setLearningRate(optimizer, lr);
        optimizer.zero_grad();
        Tensor loss = guard.forward(step, params, () -> forwardLoss(step));
        Tensor global = parallel.averageLoss(loss);
        guard.observe(step, global);   // on the CPU: stops before the optimiser sees a non-finite loss
        (scaler == null ? loss : scaler.scaled(loss)).backward();
        parallel.averageGradients(params);
        boolean finite = scaler == null || scaler.unscale(params);
        if (finite) {
            if (t.gradClip() > 0) {
                torch.clip_grad_norm_(params, t.gradClip());
            }
            optimizer.step();
        }
        if (scaler != null) {
            scaler.update(finite, step, lr);
        }
        return new Result(step, global, lr);
    }

    /** The objective's evaluation after step {@code step}, a non-finite model inside it reported as divergence. */
    Objective.Evaluated evaluate(long step) {
        // The state after this step is what the next step starts from: name that step if it diverged.
        return guard.forward(step + 1, params, () -> objective.evaluate(step));
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

package dev.incontext.tasks;

import static dev.incontext.ops.Rng.opt;

import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.ops.Rng;
import dev.incontext.util.Tensors;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Samples {@link PromptBatch}es for a task on a device: a {@link TaskFamily}, an {@link InputDistribution},
 * optional finite pools (num_tasks: a fixed set of task parameters; num_training_examples: a fixed set of
 * whole prompts, as in the reference), and curriculum truncation (coordinates past activeDims are zero, the
 * sparse support is drawn among the active ones). All work is batched tensor work on the device.
 */
public final class TaskSampler {
    private final TaskFamily family;
    private final InputDistribution inputs;
    private final int nDims;
    private final TaskConfig config;
    private final TensorOptions options;
    private final long seed;
    private Map<String, Tensor> taskPool;    // num_tasks > 0
    private PromptBatch examplePool;          // num_training_examples > 0

    public TaskSampler(TaskConfig task, long seed, TensorOptions options) {
        this.config = task;
        this.family = TaskFamily.of(task);
        this.nDims = task.nDims();
        this.options = options;
        this.seed = seed;
        this.inputs = new InputDistribution(task.xDistribution(), nDims, task.xScale(), task.covScale(),
                Rng.derive(seed, Rng.Stream.INPUT_TRANSFORM, 0), options);
    }

    public static TaskSampler forRun(RunConfig c, TensorOptions options) {
        return new TaskSampler(c.task(), c.seed(), options);
    }

    /** A generator on this sampler's device. */
    public Generator generator(long seed) {
        return Rng.on(options, seed);
    }

    public TaskFamily family() {
        return family;
    }

    public int nDims() {
        return nDims;
    }

    /**
     * The finite task pool (num_tasks &gt; 0): each parameter tensor with leading dimension num_tasks, created on
     * first use from the POOL random stream; empty when the task distribution is not a finite pool.
     */
    public Optional<Map<String, Tensor>> taskPool() {
        if (config.numTasks() == 0) {
            return Optional.empty();
        }
        if (taskPool == null) {
            fromTaskPool(1, nDims, generator(0));
        }
        return Optional.of(taskPool);
    }

    public TaskConfig config() {
        return config;
    }

    public InputDistribution inputs() {
        return inputs;
    }

    /** A batch of B prompts of n points, drawn from {@code gen}, with the first activeDims coordinates in use. */
    public PromptBatch sample(long batch, long points, int activeDims, Generator gen) {
        if (config.numTrainingExamples() > 0) {
            return fromExamplePool(batch, points, activeDims, gen);
        }
        Tensor xs = truncate(inputs.sample(batch, points, nDims, gen, options), activeDims);
        Map<String, Tensor> params = config.numTasks() > 0
                ? fromTaskPool(batch, activeDims, gen) : family.sampleParams(batch, nDims, activeDims, gen, options);
        return new PromptBatch(xs, family.evaluate(params, xs, gen), params, activeDims);
    }

    private Tensor truncate(Tensor xs, int activeDims) {
        if (activeDims < nDims) {
            xs.narrow(2, activeDims, nDims - activeDims).zero_();
        }
        return xs;
    }

    private Tensor indices(long poolSize, long batch, Generator gen) {
        TensorOptions l = options.dtype(new ScalarTypeOptional(torch.ScalarType.Long));
        if (poolSize >= batch) {
            return torch.randperm(poolSize, opt(gen), l).narrow(0, 0, batch);
        }
        return torch.randint(poolSize, new long[] {batch}, opt(gen), l);
    }

    private Map<String, Tensor> fromTaskPool(long batch, int activeDims, Generator gen) {
        if (taskPool == null) {
            Map<String, Tensor> pool = new HashMap<>(family.sampleParams(config.numTasks(), nDims, nDims,
                    Rng.on(options, Rng.derive(seed, Rng.Stream.POOL, 0)), options));
            pool.replaceAll((k, v) -> Tensors.keep(v));    // created inside the caller's scope, kept across calls
            taskPool = Map.copyOf(pool);
        }
        Tensor idx = indices(config.numTasks(), batch, gen);
        Map<String, Tensor> p = new HashMap<>();
        taskPool.forEach((k, v) -> p.put(k, torch.index_select(v, 0, idx)));
        return p;
    }

    private PromptBatch fromExamplePool(long batch, long points, int activeDims, Generator gen) {
        if (examplePool == null || examplePool.points() < points) {
            Generator g = Rng.on(options, Rng.derive(seed, Rng.Stream.POOL, 1));
            long m = config.numTrainingExamples();
            Tensor xs = inputs.sample(m, points, nDims, g, options);
            Map<String, Tensor> params = family.sampleParams(m, nDims, nDims, g, options);
            Map<String, Tensor> kept = new HashMap<>(params);
            kept.replaceAll((k, v) -> Tensors.keep(v));    // created inside the caller's scope, kept across calls
            examplePool = new PromptBatch(Tensors.keep(xs), Tensors.keep(family.evaluate(params, xs, g)), kept, nDims);
        }
        Tensor idx = indices(config.numTrainingExamples(), batch, gen);
        Tensor xs = truncate(torch.index_select(examplePool.xs(), 0, idx).narrow(1, 0, points).clone(), activeDims);
        Map<String, Tensor> p = new HashMap<>();
        examplePool.params().forEach((k, v) -> p.put(k, torch.index_select(v, 0, idx)));
        // Labels are recomputed so that truncated coordinates stay consistent with the curriculum.
        return new PromptBatch(xs, family.evaluate(p, xs, gen), p, activeDims);
    }

    /** Fresh inputs for queries (shifted evaluations) labelled by the same tasks as {@code batch}. */
    public Tensor label(PromptBatch batch, Tensor xs, Generator gen) {
        return family.evaluate(batch.params(), xs, gen);
    }
}

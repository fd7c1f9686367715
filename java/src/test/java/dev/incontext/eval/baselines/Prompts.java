package dev.incontext.eval.baselines;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Tensors;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Prompt batches and host copies for the baseline tests. */
final class Prompts {
    /** Fresh each time: a static one would be created inside the first test's PointerScope and freed with it. */
    static TensorOptions f64() {
        return new TensorOptions(torch.ScalarType.Double);
    }

    private Prompts() {}

    /** A named config with overrides; the curriculum's dimensions are set aside so that any task.n_dims loads. */
    static RunConfig config(String name, String... overrides) {
        List<String> all = new java.util.ArrayList<>(List.of("curriculum.dims.start=1", "curriculum.dims.end=1"));
        all.addAll(List.of(overrides));
        return ConfigLoader.load(RunConfig.class, name, all);
    }

    static TaskSampler sampler(String name, String... overrides) {
        return TaskSampler.forRun(config(name, overrides), f64());
    }

    /** B prompts of n points with all dimensions active, drawn from {@code seed}. */
    static PromptBatch sample(TaskSampler s, long b, long n, long seed) {
        return s.sample(b, n, s.nDims(), Rng.cpu(seed));
    }

    static double[] host(Tensor t) {
        return Tensors.toDoubleArray(t);
    }

    static BaselineContext context(String name, String... overrides) {
        RunConfig c = config(name, overrides);
        return new BaselineContext(c.task(), TaskSampler.forRun(c, f64()), c.seed());
    }
}

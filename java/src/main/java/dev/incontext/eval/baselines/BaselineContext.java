package dev.incontext.eval.baselines;

import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.tasks.TaskSampler;
import java.util.Objects;

/**
 * What a baseline may know about the task it is compared on: the task's config (noise, scales, dimension: the
 * Bayes-optimal predictors need them), the sampler (its finite task pool, for dMMSE) and a seed for baselines that
 * draw random numbers themselves (network initialisations, minibatches).
 */
public record BaselineContext(TaskConfig task, TaskSampler sampler, long seed) {
    public BaselineContext {
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(sampler, "sampler");
    }
}

package dev.incontext.eval;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.TaskFamily;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;

/**
 * The task itself, noiselessly (Raventós et al.'s "True" baseline): the label function that generated the prompt,
 * evaluated at the query. For linear tasks its implicit weights are the true w, which is what ILWD against the truth
 * compares with.
 */
public record Oracle(TaskFamily family) implements Predictor {
    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor xs = queries == null ? batch.xs() : queries;
        return noiseless().evaluate(batch.params(), xs, (Generator) null);
    }

    private TaskFamily noiseless() {
        if (family instanceof TaskFamily.Linear l) {
            return new TaskFamily.Linear(l.scale(), 0.0, false, false);
        }
        return family;
    }

    @Override
    public String name() {
        return "True function";
    }
}

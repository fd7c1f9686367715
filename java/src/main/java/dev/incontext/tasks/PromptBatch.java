package dev.incontext.tasks;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * A batch of in-context prompts: inputs xs (B, n, d), targets ys (B, n), and the task parameters that produced
 * them (each with leading dimension B), so that shifted queries can be labelled by the same functions.
 *
 * @param activeDims the number of leading input coordinates in use (curriculum truncation: the rest are zero)
 */
public record PromptBatch(Tensor xs, Tensor ys, Map<String, Tensor> params, int activeDims) {
    public PromptBatch {
        params = Map.copyOf(params);
    }

    public long batchSize() {
        return xs.size(0);
    }

    public long points() {
        return xs.size(1);
    }

    public long dims() {
        return xs.size(2);
    }

    /** Prompts {@code start} .. {@code start + count - 1} (views, and every parameter's rows with them). */
    public PromptBatch rows(long start, long count) {
        Map<String, Tensor> p = new java.util.LinkedHashMap<>();
        params.forEach((k, v) -> p.put(k, v.narrow(0, start, count)));
        return new PromptBatch(xs.narrow(0, start, count), ys.narrow(0, start, count), p, activeDims);
    }
}

package dev.incontext.tasks;

import org.bytedeco.pytorch.Tensor;

/**
 * A batch of token rows for modular arithmetic. Each row holds n examples {@code x y z} of one task (3n tokens, the
 * digit d is token d); the model reads {@code inputs} = the row without its last token and must predict each z
 * from the y before it.
 *
 * <p>Token tasks do not go through {@link PromptBatch}: that record carries real-valued inputs (B, n, d) and targets
 * (B, n) for regression read-outs, while here inputs and targets are integer tokens and the loss is a
 * cross-entropy over a vocabulary.
 *
 * @param inputs (B, 3n - 1) int64 tokens
 * @param z (B, n) int64 targets: the z of every example; the prediction of z_i is read at input position 3i + 1
 * @param tasks (B, 2) int64 task vectors (a, b) of the rows
 * @param pairs (B, n, 2) int64 inputs (x, y) of the examples
 */
public record TokenBatch(Tensor inputs, Tensor z, Tensor tasks, Tensor pairs) {
    public long rows() {
        return inputs.size(0);
    }

    public long examples() {
        return z.size(1);
    }

    /** Rows {@code start} .. {@code start + count - 1} (views). */
    public TokenBatch rows(long start, long count) {
        return new TokenBatch(inputs.narrow(0, start, count), z.narrow(0, start, count), tasks.narrow(0, start, count),
                pairs.narrow(0, start, count));
    }
}

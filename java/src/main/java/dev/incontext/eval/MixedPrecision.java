package dev.incontext.eval;

import dev.incontext.config.RunConfig.Precision;
import dev.incontext.model.Predictor;
import dev.incontext.ops.Autocast;

/** A predictor's forward passes in the evaluation's precision ({@code eval.precision}). */
public final class MixedPrecision {
    private MixedPrecision() {}

    /**
     * {@code p} with its forward passes under bfloat16 autocast and its predictions widened to the labels' dtype, or
     * {@code p} itself for float32 (and on a CPU without hardware bfloat16, which says so once).
     */
    public static Predictor of(Predictor p, Precision precision, String device) {
        if (precision != Precision.BF16 || !Autocast.bf16Available(device)) {
            return p;
        }
        return Predictor.of(p.name(), (batch, queries) -> {
            try (Autocast scope = Autocast.bf16(device)) {
                return p.predict(batch, queries).to(batch.ys().scalar_type());
            }
        });
    }
}

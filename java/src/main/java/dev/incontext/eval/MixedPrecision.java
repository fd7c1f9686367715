package dev.incontext.eval;

import dev.incontext.config.RunConfig.Precision;
import dev.incontext.model.Predictor;
import dev.incontext.ops.Autocast;

/** A predictor's forward passes in the evaluation's precision ({@code eval.precision}). */
public final class MixedPrecision {
    private MixedPrecision() {}

    /**
     * {@code p} with its forward passes under bfloat16 or float16 autocast and its predictions widened to the labels'
     * dtype, or {@code p} itself for float32 (and for bf16 on a CPU without hardware bfloat16, which says so once).
     * Evaluation needs no loss scaling: nothing is differentiated.
     */
    public static Predictor of(Predictor p, Precision precision, String device) {
        boolean fp16 = precision == Precision.FP16;
        if (fp16) {
            Autocast.noteFp16(device);
        } else if (precision != Precision.BF16 || !Autocast.bf16Available(device)) {
            return p;
        }
        return Predictor.of(p.name(), (batch, queries) -> {
            try (Autocast scope = fp16 ? Autocast.fp16(device) : Autocast.bf16(device)) {
                return p.predict(batch, queries).to(batch.ys().scalar_type());
            }
        });
    }
}

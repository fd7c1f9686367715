package dev.incontext.eval;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A per-position score of a prediction against its target, with its formula and its trivial reference line (drawn
 * dashed in every plot): what a predictor that knows nothing scores. For squared error that is the zero predictor
 * (1); for accuracy it is chance, 0.5, which a constant prediction of either sign scores on symmetric ±1 labels. The
 * zero predictor itself scores 0 on accuracy, since sign(0) = 0 matches no label.
 */
public sealed interface Metric {
    /** For axis labels and tables. */
    String label();

    /** The formula, for reports. */
    String formula();

    /** The trivial reference score (see above): the dashed line in the plots. */
    double trivial();

    /** True when lower is better. */
    boolean lowerIsBetter();

    /** Scores (B, n) in float64 on the device of the inputs; {@code normaliser} is the setting's E[y_q²]. */
    Tensor score(Tensor prediction, Tensor target, double normaliser);

    static Metric of(boolean classification) {
        return classification ? new Accuracy() : new SquaredError();
    }

    /** (ŷ − y)² / E[y²]: Garg's normalised squared error; the zero predictor scores 1. */
    record SquaredError() implements Metric {
        public String label() {
            return "normalised squared error";
        }

        public String formula() {
            return "(y_hat - y)^2 / E[y^2], E[y^2] of the setting's targets";
        }

        public double trivial() {
            return 1.0;
        }

        public boolean lowerIsBetter() {
            return true;
        }

        public Tensor score(Tensor prediction, Tensor target, double normaliser) {
            return prediction.to(torch.ScalarType.Double).sub(target.to(torch.ScalarType.Double)).pow(new Scalar(2))
                    .div(new Scalar(normaliser));
        }
    }

    /** 1[sign(ŷ) = y] for ±1 targets; chance is 0.5 (the zero predictor scores 0: sign(0) = 0). */
    record Accuracy() implements Metric {
        public String label() {
            return "accuracy";
        }

        public String formula() {
            return "1[sign(y_hat) = y]";
        }

        public double trivial() {
            return 0.5;
        }

        public boolean lowerIsBetter() {
            return false;
        }

        public Tensor score(Tensor prediction, Tensor target, double normaliser) {
            return prediction.sign().eq(target).to(torch.ScalarType.Double);
        }
    }
}

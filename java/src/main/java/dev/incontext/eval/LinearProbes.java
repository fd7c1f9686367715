package dev.incontext.eval;

import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Linear probes on hidden states (Akyürek et al. §5, papers.md §4.5): for each layer and each position k, a ridge
 * regression from the hidden state at one of point k's tokens to a target vector, fitted on one set of prompts and
 * scored by R² on another. Targets: the true w, the least-squares weights and Xᵀy of the examples the token has seen.
 * All positions of a layer are fitted at once (one (width x width) solve per position, float64).
 */
public final class LinearProbes {
    private LinearProbes() {}

    /**
     * Which token of point k a probe reads, and so which examples its prefix targets cover: the x token (where the
     * prediction of y_k is read) has seen examples 0 .. k − 1; the y token (where Akyürek et al. mainly decode) has
     * seen examples 0 .. k.
     */
    public enum Token {
        X, Y;

        public String label() {
            return this == X ? "x token" : "y token";
        }
    }

    /**
     * The control target: the token's own input (x_k at the x token, y_k at the y token). Every layer's hidden state
     * holds it through the residual stream, and the embedding holds it linearly, so a probe that misses it at layer 0
     * reads the wrong positions or fits wrongly: a null result on the other targets counts only beside this one.
     */
    public static final String CONTROL = "input";

    /** The probe targets at the x tokens (see {@link #targets(PromptBatch, Token)}). */
    public static Map<String, Tensor> targets(PromptBatch b) {
        return targets(b, Token.X);
    }

    /**
     * The probe targets of a prompt batch at one token of every point, each (B, n, d): entry k is the true w, or the
     * least-squares weights ({@code w_ols}, minimum norm) and Xᵀy ({@code xty}) of the examples that token has seen:
     * the first k at the x token, the first k + 1 at the y token; and the {@link #CONTROL} (the token's own input,
     * (B, n, d) at the x token, (B, n, 1) at the y token).
     */
    public static Map<String, Tensor> targets(PromptBatch b, Token token) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        Tensor w = b.params().get("w");
        if (w == null) {
            throw new IllegalArgumentException("probe targets need linear tasks (a weight vector w per prompt)");
        }
        long n = b.points();
        Tensor xs = b.xs().to(torch.ScalarType.Double);
        Tensor ys = b.ys().to(torch.ScalarType.Double);
        t.put("w", w.squeeze(2).unsqueeze(1).expand(b.batchSize(), n, b.dims()).to(torch.ScalarType.Double));
        Tensor yx = xs.mul(ys.unsqueeze(2));
        if (token == Token.X) {
            t.put("w_ols", Ops.prefixLstsqWithWeights(xs, ys, 0.0, null).weights());
            t.put("xty", torch.cumsum(yx, 1).sub(yx));
            t.put(CONTROL, xs);
        } else {
            // The all-prefix solver's entry k covers the first k examples: one more (unused) point at the end makes
            // entries 1 .. n those of the first 1 .. n examples.
            Tensor xs1 = torch.cat(new TensorVector(xs, torch.zeros_like(xs.narrow(1, 0, 1))), 1);
            Tensor ys1 = torch.cat(new TensorVector(ys, torch.zeros_like(ys.narrow(1, 0, 1))), 1);
            t.put("w_ols", Ops.prefixLstsqWithWeights(xs1, ys1, 0.0, null).weights().narrow(1, 1, n));
            t.put("xty", torch.cumsum(yx, 1));
            t.put(CONTROL, ys.unsqueeze(2));
        }
        return t;
    }

    /**
     * R² (n) per position of a ridge probe from hidden states (P, n, width) to targets (P, n, t), fitted on the
     * {@code train} prompts with penalty {@code lambda} times the number of prompts, scored on the {@code test}
     * prompts. R² = 1 − Σ‖target − prediction‖² / Σ‖target − mean target‖² over the test prompts (the mean is the
     * test set's own per position), so 0 is a constant probe and 1 exact; where the target does not vary (k = 0 for
     * the prefix targets) it is reported as NaN.
     */
    public static double[] r2(Tensor trainHidden, Tensor trainTarget, Tensor testHidden, Tensor testTarget,
            double lambda) {
        Tensor h = trainHidden.to(torch.ScalarType.Double).transpose(0, 1);               // (n, P, w)
        Tensor t = trainTarget.to(torch.ScalarType.Double).transpose(0, 1);                // (n, P, t)
        Tensor hMean = h.mean(new long[] {1}, true, new ScalarTypeOptional());
        Tensor tMean = t.mean(new long[] {1}, true, new ScalarTypeOptional());
        Tensor hc = h.sub(hMean);
        Tensor tc = t.sub(tMean);
        long width = h.size(2);
        Tensor gram = torch.matmul(hc.transpose(1, 2), hc).add(torch.eye(width, hc.options())
                .mul(new Scalar(lambda * h.size(1))));
        // Cholesky, not LU: the Gram matrix plus λI is positive definite, and libtorch's LU (OpenBLAS getrf) overflows
        // a JVM thread's default 1 MB stack from about 192 x 192 up, killing the process (Tensors.solveSpd).
        Tensor weights = Tensors.solveSpd(gram, torch.matmul(hc.transpose(1, 2), tc));     // (n, w, t)
        Tensor hs = testHidden.to(torch.ScalarType.Double).transpose(0, 1);
        Tensor ts = testTarget.to(torch.ScalarType.Double).transpose(0, 1);
        Tensor pred = torch.matmul(hs.sub(hMean), weights).add(tMean);
        double[] sse = Tensors.toDoubleArray(ts.sub(pred).pow(new Scalar(2)).sum(new long[] {1, 2}, false,
                new ScalarTypeOptional()));
        double[] sst = Tensors.toDoubleArray(ts.sub(ts.mean(new long[] {1}, true, new ScalarTypeOptional()))
                .pow(new Scalar(2)).sum(new long[] {1, 2}, false, new ScalarTypeOptional()));
        double[] r2 = new double[sse.length];
        for (int k = 0; k < r2.length; k++) {
            r2[k] = sst[k] > 1e-12 * Math.max(1, sse[k]) ? 1 - sse[k] / sst[k] : Double.NaN;
        }
        return r2;
    }

    /** R² [layer][position] for one target, from per-layer hidden states of the train and test prompts. */
    public static double[][] r2PerLayer(List<Tensor> trainHidden, Tensor trainTarget, List<Tensor> testHidden,
            Tensor testTarget, double lambda) {
        double[][] out = new double[trainHidden.size()][];
        for (int l = 0; l < out.length; l++) {
            out[l] = r2(trainHidden.get(l), trainTarget, testHidden.get(l), testTarget, lambda);
        }
        return out;
    }
}

package dev.incontext.tasks;

import static dev.incontext.ops.Rng.opt;

import dev.incontext.config.RunConfig.TaskConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * A family of functions y = f(x) from which each prompt draws one (papers.md §1.1, Garg et al.). Parameters are
 * sampled as tensors with leading dimension B on the device of {@code options}; {@link #evaluate} labels any
 * inputs with them. Normalisations follow the reference so that the zero predictor scores 1.
 */
public sealed interface TaskFamily {
    /** Draws the parameters of B functions on inputs whose first {@code activeDims} coordinates are in use. */
    Map<String, Tensor> sampleParams(long batch, int nDims, int activeDims, Generator gen, TensorOptions options);

    /** Labels xs (B, n, d) with the functions of {@code params}; noise, if any, is drawn from {@code gen}. */
    Tensor evaluate(Map<String, Tensor> params, Tensor xs, Generator gen);

    /**
     * E y^2 for x ~ N(0, I_d), noise included: squared errors are divided by it, so the zero predictor scores 1
     * (classification returns 1, unused: accuracy is not normalised).
     */
    double normalisation(int nDims);

    /** True for sign targets (metric: accuracy; loss: BCE with logits). */
    default boolean classification() {
        return false;
    }

    /**
     * The baselines a model of this family is compared with by default (Garg et al.'s table, papers.md §1.5), by
     * the names the evaluation parses ({@code least_squares}, {@code lasso:0.1}, ...); {@code knn} are the k-NN
     * entries to include. Declared by each family, so a new family brings its own list.
     */
    List<String> relevantBaselines(List<String> knn);

    /**
     * Whether y = s x.w (+ noise) for a weight vector w: the families to which Garg et al.'s input shifts, the
     * discrete MMSE over a task pool and the Bayes ridge apply.
     */
    default boolean linear() {
        return false;
    }

    /** {@code first}, then {@code knn}, then {@code rest}: the usual shape of a family's baseline list. */
    private static List<String> baselines(List<String> first, List<String> knn, List<String> rest) {
        List<String> out = new ArrayList<>(first);
        out.addAll(knn);
        out.addAll(rest);
        return out;
    }

    /** Lasso's alphas in Garg et al.'s sparse-regression comparison. */
    List<String> LASSO_ALPHAS = List.of("1", "0.1", "0.01", "0.001", "0.0001");

    static TaskFamily of(TaskConfig c) {
        return switch (c.name()) {
            case LINEAR_REGRESSION -> new Linear(c.yScale(), 0.0, false, false);
            case NOISY_LINEAR_REGRESSION -> new Linear(c.yScale(), c.noiseStd(), c.renormalizeYs(), true);
            case SPARSE_LINEAR_REGRESSION -> new SparseLinear(c.yScale(), c.sparsity());
            case LINEAR_CLASSIFICATION -> new LinearClassification();
            case QUADRATIC_REGRESSION -> new Quadratic(c.yScale());
            case RELU_2NN_REGRESSION -> new Relu2nn(c.yScale(), c.hiddenLayerSize());
            case DECISION_TREE -> new DecisionTree(c.depth());
        };
    }

    private static Tensor gaussianWeights(long batch, int nDims, Generator gen, TensorOptions o) {
        return torch.randn(new long[] {batch, nDims, 1}, opt(gen), o);
    }

    /** y = scale * x.w (+ N(0, noise^2)); renormalised to E y^2 = d with one batch-wide std when asked. */
    record Linear(double scale, double noiseStd, boolean renormalize, boolean noisy) implements TaskFamily {
        /** Noisy regression adds the Bayes-optimal ridge. */
        @Override
        public List<String> relevantBaselines(List<String> knn) {
            return baselines(List.of("least_squares", "averaging"), knn,
                    noisy ? List.of("bayes_ridge") : List.of());
        }

        @Override
        public boolean linear() {
            return true;
        }

        @Override
        public Map<String, Tensor> sampleParams(long batch, int nDims, int activeDims, Generator gen, TensorOptions o) {
            return Map.of("w", gaussianWeights(batch, nDims, gen, o));
        }

        @Override
        public Tensor evaluate(Map<String, Tensor> p, Tensor xs, Generator gen) {
            Tensor ys = torch.matmul(xs, p.get("w")).squeeze(2).mul(new Scalar(scale));
            if (noiseStd > 0) {
                ys = ys.add(torch.randn(new long[] {ys.size(0), ys.size(1)}, opt(gen), ys.options())
                        .mul(new Scalar(noiseStd)));
            }
            if (renormalize) {
                ys = ys.mul(new Scalar(Math.sqrt(xs.size(2)))).div(ys.std());
            }
            return ys;
        }

        /** E y² for x ~ N(0, I): d s² + σ², or d after renormalisation (which rescales signal and noise together). */
        @Override
        public double normalisation(int nDims) {
            return renormalize ? nDims : nDims * scale * scale + noiseStd * noiseStd;
        }
    }

    /** w ~ N(0, I) with all but `sparsity` coordinates, chosen among the active ones, set to zero. */
    record SparseLinear(double scale, int sparsity) implements TaskFamily {
        @Override
        public List<String> relevantBaselines(List<String> knn) {
            return baselines(List.of("least_squares", "averaging"), knn,
                    LASSO_ALPHAS.stream().map(a -> "lasso:" + a).toList());
        }

        @Override
        public boolean linear() {
            return true;
        }

        @Override
        public Map<String, Tensor> sampleParams(long batch, int nDims, int activeDims, Generator gen, TensorOptions o) {
            Tensor w = gaussianWeights(batch, nDims, gen, o);
            // A uniform random subset of size s of the active coordinates: the s smallest of i.i.d. uniforms.
            Tensor u = torch.rand(new long[] {batch, nDims}, opt(gen), o);
            if (activeDims < nDims) {
                u.narrow(1, activeDims, nDims - activeDims).fill_(new Scalar(2.0));
            }
            Tensor ranks = torch.argsort(torch.argsort(u, 1, false), 1, false);
            Tensor keep = ranks.lt(new Scalar(Math.min(sparsity, activeDims))).to(o.dtype().toScalarType());
            return Map.of("w", w.mul(keep.unsqueeze(2)));
        }

        @Override
        public Tensor evaluate(Map<String, Tensor> p, Tensor xs, Generator gen) {
            return torch.matmul(xs, p.get("w")).squeeze(2).mul(new Scalar(scale));
        }

        @Override
        public double normalisation(int nDims) {
            return sparsity * scale * scale;
        }
    }

    /** y = sign(x.w). */
    record LinearClassification() implements TaskFamily {
        @Override
        public List<String> relevantBaselines(List<String> knn) {
            return baselines(List.of(), knn, List.of("averaging"));
        }

        @Override
        public Map<String, Tensor> sampleParams(long batch, int nDims, int activeDims, Generator gen, TensorOptions o) {
            return Map.of("w", gaussianWeights(batch, nDims, gen, o));
        }

        @Override
        public Tensor evaluate(Map<String, Tensor> p, Tensor xs, Generator gen) {
            return torch.matmul(xs, p.get("w")).squeeze(2).sign();
        }

        @Override
        public double normalisation(int nDims) {
            return 1.0;
        }

        @Override
        public boolean classification() {
            return true;
        }
    }

    /** y = ((x * x) . w) / sqrt(3), so that E y^2 = d. */
    record Quadratic(double scale) implements TaskFamily {
        @Override
        public List<String> relevantBaselines(List<String> knn) {
            return baselines(List.of("least_squares", "averaging"), knn, List.of());
        }

        @Override
        public Map<String, Tensor> sampleParams(long batch, int nDims, int activeDims, Generator gen, TensorOptions o) {
            return Map.of("w", gaussianWeights(batch, nDims, gen, o));
        }

        @Override
        public Tensor evaluate(Map<String, Tensor> p, Tensor xs, Generator gen) {
            return torch.matmul(xs.mul(xs), p.get("w")).squeeze(2).mul(new Scalar(scale / Math.sqrt(3.0)));
        }

        @Override
        public double normalisation(int nDims) {
            return nDims * scale * scale;
        }
    }

    /** y = sqrt(2/k) relu(x W1) W2 with W1 (d, k), W2 (k, 1) i.i.d. N(0, 1): E y^2 = d. */
    record Relu2nn(double scale, int hidden) implements TaskFamily {
        @Override
        public List<String> relevantBaselines(List<String> knn) {
            return baselines(List.of("least_squares", "averaging"), knn, List.of("gd_relu_net"));
        }

        @Override
        public Map<String, Tensor> sampleParams(long batch, int nDims, int activeDims, Generator gen, TensorOptions o) {
            Map<String, Tensor> m = new HashMap<>();
            m.put("w1", torch.randn(new long[] {batch, nDims, hidden}, opt(gen), o));
            m.put("w2", torch.randn(new long[] {batch, hidden, 1}, opt(gen), o));
            return m;
        }

        @Override
        public Tensor evaluate(Map<String, Tensor> p, Tensor xs, Generator gen) {
            Tensor h = torch.relu(torch.matmul(xs, p.get("w1")));
            return torch.matmul(h, p.get("w2")).squeeze(2).mul(new Scalar(scale * Math.sqrt(2.0 / hidden)));
        }

        @Override
        public double normalisation(int nDims) {
            return nDims * scale * scale;
        }
    }

    /**
     * A full binary tree of the given depth: internal node j tests coordinate c_j ~ U{0..d-1} and goes right
     * (2j + 2) if x_{c_j} > 0, else left (2j + 1); leaves carry N(0, 1) values. E y^2 = 1.
     */
    record DecisionTree(int depth) implements TaskFamily {
        @Override
        public List<String> relevantBaselines(List<String> knn) {
            return baselines(List.of("least_squares"), knn, List.of("tree:4", "tree", "xgboost", "averaging"));
        }

        @Override
        public Map<String, Tensor> sampleParams(long batch, int nDims, int activeDims, Generator gen, TensorOptions o) {
            long internal = (1L << depth) - 1;
            Map<String, Tensor> m = new HashMap<>();
            m.put("coords", torch.randint(nDims, new long[] {batch, internal}, opt(gen),
                    o.dtype(new ScalarTypeOptional(torch.ScalarType.Long))));
            m.put("leaves", torch.randn(new long[] {batch, 1L << depth}, opt(gen), o));
            return m;
        }

        @Override
        public Tensor evaluate(Map<String, Tensor> p, Tensor xs, Generator gen) {
            Tensor coords = p.get("coords");
            Tensor node = torch.zeros(new long[] {xs.size(0), xs.size(1)}, coords.options());
            for (int level = 0; level < depth; level++) {
                Tensor c = torch.gather(coords, 1, node);                       // (B, n) coordinate tested
                Tensor xv = torch.gather(xs, 2, c.unsqueeze(2)).squeeze(2);      // (B, n) its value
                node = node.mul(new Scalar(2)).add(new Scalar(1)).add(xv.gt(new Scalar(0)).to(torch.ScalarType.Long));
            }
            Tensor leaf = node.sub(new Scalar((1L << depth) - 1));
            return torch.gather(p.get("leaves"), 1, leaf);
        }

        @Override
        public double normalisation(int nDims) {
            return 1.0;
        }
    }
}

package dev.incontext.model;

import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * The global minimum of Zhang, Frei &amp; Bartlett's linear self-attention trained on prompts of N examples with x ~
 * N(0, Λ) (papers.md §2.2): ŷ = x_qᵀ Γ⁻¹ (1/M) Σ_{i&lt;M} y_i x_i with Γ = (1 + 1/N) Λ + (tr Λ / N) I, at any test length
 * M (here M = k, the number of examples before position k). Usable as a predictor in every evaluation; exact, so
 * trained models can be compared with it.
 */
public final class LsaClosedForm implements Predictor {
    private final double[][] gammaInverse;
    private final int trainingLength;

    /** Λ = I_d. */
    public static LsaClosedForm isotropic(int d, int trainingLength) {
        double[][] lambda = new double[d][d];
        for (int i = 0; i < d; i++) {
            lambda[i][i] = 1;
        }
        return new LsaClosedForm(lambda, trainingLength);
    }

    public LsaClosedForm(double[][] lambda, int trainingLength) {
        if (trainingLength < 1) {
            throw new IllegalArgumentException("training length N must be >= 1; got " + trainingLength);
        }
        int d = lambda.length;
        double trace = 0;
        for (int i = 0; i < d; i++) {
            if (lambda[i].length != d) {
                throw new IllegalArgumentException("Λ must be square; row " + i + " has " + lambda[i].length
                        + " entries, expected " + d);
            }
            trace += lambda[i][i];
        }
        double[] flat = new double[d * d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                flat[i * d + j] = (1 + 1.0 / trainingLength) * lambda[i][j] + (i == j ? trace / trainingLength : 0);
            }
        }
        Tensor gamma = torch.tensor(flat, new TensorOptions(torch.ScalarType.Double)).view(d, d);
        // Γ is symmetric positive definite (Λ is a covariance): invert through Cholesky (see Tensors.solveSpd).
        double[] inv = Tensors.toDoubleArray(Tensors.solveSpd(gamma,
                torch.eye(d, new TensorOptions(torch.ScalarType.Double))));
        this.gammaInverse = new double[d][d];
        for (int i = 0; i < d; i++) {
            System.arraycopy(inv, i * d, gammaInverse[i], 0, d);
        }
        this.trainingLength = trainingLength;
    }

    /** Γ⁻¹ (d x d). */
    public double[][] gammaInverse() {
        double[][] c = new double[gammaInverse.length][];
        for (int i = 0; i < c.length; i++) {
            c[i] = gammaInverse[i].clone();
        }
        return c;
    }

    /** One prefix-averaging op call at the queries Γ⁻¹ x_q (Γ is symmetric). */
    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor q = queries == null ? batch.xs() : queries;
        int d = gammaInverse.length;
        if (q.size(2) != d) {
            throw new IllegalArgumentException("the closed form is for d = " + d + "; got inputs with d = " + q.size(2));
        }
        double[] flat = new double[d * d];
        for (int i = 0; i < d; i++) {
            System.arraycopy(gammaInverse[i], 0, flat, i * d, d);
        }
        Tensor g = torch.tensor(flat, new TensorOptions(torch.ScalarType.Double)).view(d, d)
                .to(q.device(), q.scalar_type());
        return Ops.prefixAveraging(batch.xs(), batch.ys(), torch.matmul(q, g));
    }

    /**
     * Theorem 4.2 for Λ = I, normalised by d (papers.md §9.5): [(d+1)/M + (d+1)²/N²] / (1 + (d+1)/N)², the error at
     * test length M of the minimum trained at length N. At M = N it is (d+1)/(N+d+1): 0.344 at d = 20, N = 40.
     */
    public static double isotropicRisk(int d, int trainingLength, int testLength) {
        double a = (d + 1.0) / trainingLength;
        return ((d + 1.0) / testLength + a * a) / ((1 + a) * (1 + a));
    }

    /**
     * Normalised error of the isotropic minimum when test inputs are scaled by c (x = c z, normalised by E y² = c²d):
     * (c²/g − 1)² + c⁴ (d+1)/(M g²) with g = 1 + (d+1)/N; its M → ∞ limit is papers.md §9.6's (c²/g − 1)². Derived
     * from E tr(S²) = c⁴ (d + d(d+1)/M) for S the empirical covariance of M scaled Gaussian points.
     */
    public static double scaledInputRisk(int d, int trainingLength, int testLength, double c) {
        double g = 1 + (d + 1.0) / trainingLength;
        double c2 = c * c;
        return (c2 / g - 1) * (c2 / g - 1) + c2 * c2 * (d + 1.0) / (testLength * g * g);
    }

    public int trainingLength() {
        return trainingLength;
    }

    @Override
    public String name() {
        return "LSA global minimum (N=" + trainingLength + ")";
    }
}

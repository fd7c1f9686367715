package dev.incontext.tasks;

import static dev.incontext.ops.Rng.opt;

import dev.incontext.config.RunConfig.XDistribution;
import dev.incontext.ops.Rng;
import dev.incontext.util.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Where prompt inputs come from (papers.md §1.1, §1.6, §2.4). All start from z ~ N(0, I_d):
 * <ul>
 *   <li>isotropic: x = c z;</li>
 *   <li>skewed / half_subspace: x = c z t with t = U diag(e) U^T, U Haar-random (fixed per sampler), e_i = 1/(i+1)
 *       or 1 on d/2 coordinates and 0 elsewhere, rescaled so that sum e_i^2 = d (trace of the covariance = d);</li>
 *   <li>random_diagonal: x = c z sqrt(lambda) with lambda = cov_scale * Exp(1) drawn per prompt (Zhang et al.);</li>
 *   <li>orthants: x = c |z| * s with one random sign pattern s per prompt (Garg's random quadrants);</li>
 *   <li>uniform: x = c u, u ~ U(−√3, √3)^d (unit variance per coordinate; von Oswald et al.'s U(−1, 1) is
 *       c = 1/√3).</li>
 * </ul>
 */
public final class InputDistribution {
    private final XDistribution kind;
    private final double scale;
    private final double covScale;
    private final Tensor transform;  // (d, d) for skewed and half_subspace, else null

    public InputDistribution(XDistribution kind, int nDims, double scale, double covScale, long seed, TensorOptions o) {
        this.kind = kind;
        this.scale = scale;
        this.covScale = covScale;
        this.transform = switch (kind) {
            case SKEWED, HALF_SUBSPACE -> Tensors.keep(fixedTransform(kind, nDims, Rng.cpu(seed), o));
            default -> null;
        };
    }

    public XDistribution kind() {
        return kind;
    }

    private static Tensor fixedTransform(XDistribution kind, int d, Generator gen, TensorOptions o) {
        double[] e = new double[d];
        double sumSq = 0;
        for (int i = 0; i < d; i++) {
            e[i] = kind == XDistribution.SKEWED ? 1.0 / (i + 1) : (i < d / 2 ? 1.0 : 0.0);
            sumSq += e[i] * e[i];
        }
        double norm = Math.sqrt(d / sumSq);
        TensorOptions f64 = new TensorOptions(torch.ScalarType.Double);
        Tensor u = torch.linalg_qr(torch.randn(new long[] {d, d}, opt(gen), f64)).get0();  // Haar up to signs
        Tensor diag = torch.diag(torch.tensor(e, f64).mul(new Scalar(norm)));
        return torch.matmul(torch.matmul(u, diag), u.t()).to(o.device(), o.dtype().toScalarType());
    }

    /** Draws (B, n, d) inputs. */
    public Tensor sample(long batch, long points, int nDims, Generator gen, TensorOptions o) {
        Tensor z = kind == XDistribution.UNIFORM ? null : torch.randn(new long[] {batch, points, nDims}, opt(gen), o);
        Tensor x = switch (kind) {
            case ISOTROPIC -> z;
            case SKEWED, HALF_SUBSPACE -> torch.matmul(z, transform);
            case RANDOM_DIAGONAL -> {
                yield z.mul(exponential(new long[] {batch, 1, nDims}, gen, o).mul(new Scalar(covScale)).sqrt());
            }
            case UNIFORM -> torch.rand(new long[] {batch, points, nDims}, opt(gen), o).mul(new Scalar(2 * Math.sqrt(3)))
                    .sub(new Scalar(Math.sqrt(3)));
            case ORTHANTS -> {
                Tensor signs = torch.randint(2, new long[] {batch, 1, nDims}, opt(gen), o)
                        .mul(new Scalar(2)).sub(new Scalar(1));
                yield z.abs().mul(signs);
            }
        };
        return scale == 1.0 ? x : x.mul(new Scalar(scale));
    }

    /** Exp(1) draws of the given shape, by inversion: −log(1 − U), U in [0, 1). */
    public static Tensor exponential(long[] shape, Generator gen, TensorOptions o) {
        return torch.rand(shape, opt(gen), o).mul(new Scalar(-1)).add(new Scalar(1)).log().mul(new Scalar(-1));
    }
}

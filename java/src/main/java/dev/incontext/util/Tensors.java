package dev.incontext.util;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Small conveniences over the JavaCPP libtorch API that the rest of the code repeats. */
public final class Tensors {
    private Tensors() {}

    public static TensorOptions options(ScalarType dtype) {
        return new TensorOptions(dtype);
    }

    public static Tensor randn(ScalarType dtype, long... shape) {
        return torch.randn(shape, options(dtype));
    }

    public static Tensor zeros(ScalarType dtype, long... shape) {
        return torch.zeros(shape, options(dtype));
    }

    public static Tensor full(ScalarType dtype, double value, long... shape) {
        return torch.full(shape, new Scalar(value), options(dtype));
    }

    public static Tensor scalarMul(Tensor t, double c) {
        return t.mul(new Scalar(c));
    }

    /** max |a - b| over all elements, in float64. */
    public static double maxAbsDiff(Tensor a, Tensor b) {
        return a.detach().to(ScalarType.Double).sub(b.detach().to(ScalarType.Double)).abs().max().item_double();
    }

    /** max |a - b| / max |b|: the relative error of a whole tensor against a reference b. */
    public static double relErr(Tensor a, Tensor ref) {
        double scale = ref.detach().to(ScalarType.Double).abs().max().item_double();
        return maxAbsDiff(a, ref) / Math.max(scale, Double.MIN_NORMAL);
    }

    public static boolean allFinite(Tensor t) {
        return torch.isfinite(t.detach()).all().item_bool();
    }

    public static String shape(Tensor t) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < t.dim(); i++) {
            s.append(i == 0 ? "" : ", ").append(t.size(i));
        }
        return s.append(']').toString();
    }
}

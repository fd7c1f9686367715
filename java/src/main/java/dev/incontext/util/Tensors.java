package dev.incontext.util;

import org.bytedeco.pytorch.Device;
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

    /** A float64 CPU tensor of shape (n) holding {@code values}. */
    public static Tensor fromDoubles(double... values) {
        Tensor t = torch.zeros(new long[] {values.length}, options(ScalarType.Double));
        if (values.length > 0) {
            t.data_ptr_double().put(values);
        }
        return t;
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

    /**
     * Copies a tensor's elements into a Java array, in row-major order. Reading a tensor's memory from Java is only
     * legal on the host, so this is the one place the project does it: the tensor is moved to the CPU (a
     * device-to-host copy on CUDA) and converted to float64 first. Throws IllegalArgumentException for a tensor
     * whose data cannot be read (an undefined tensor, or one on the {@code meta} device, which holds no data).
     */
    public static double[] toDoubleArray(Tensor t) {
        if (t == null || !t.defined()) {
            throw new IllegalArgumentException("cannot read the data of an undefined tensor");
        }
        if (t.is_meta()) {
            throw new IllegalArgumentException("cannot read the data of a tensor of shape " + shape(t)
                    + " on the meta device: it holds no data");
        }
        Tensor host = hostCopy(t);
        if (!host.is_cpu()) {
            throw new IllegalStateException("internal error: a tensor on " + host.device().str().getString()
                    + " reached a host read");
        }
        double[] out = new double[Math.toIntExact(host.numel())];
        host.data_ptr_double().get(out);
        return out;
    }

    /** A contiguous float64 copy on the CPU (no copy when {@code t} is already one). */
    static Tensor hostCopy(Tensor t) {
        return t.detach().to(new Device(torch.DeviceType.CPU), ScalarType.Double).contiguous();
    }

    /**
     * Makes a tensor outlive every {@link org.bytedeco.javacpp.PointerScope} open on this thread: scopes release
     * the references they took, and this one stays until the Java object is garbage collected. For state that is
     * created lazily during a scoped call but kept across calls (task pools, fixed input transforms).
     */
    public static Tensor keep(Tensor t) {
        if (t != null) {
            t.retainReference();
        }
        return t;
    }

    public static String shape(Tensor t) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < t.dim(); i++) {
            s.append(i == 0 ? "" : ", ").append(t.size(i));
        }
        return s.append(']').toString();
    }

    /**
     * Solves A X = B for symmetric positive definite A (..., m, m) by Cholesky. Use it, not {@code linalg_solve}, for
     * such systems: libtorch's LU path (OpenBLAS getrf, multithreaded) overflows a JVM thread's default 1 MB stack from
     * about m = 192 and kills the process without a Java error (measured: m = 128 passes, 192 and 256 crash; QR, SVD
     * and Cholesky pass at 1024; -Xss8m makes LU pass). A matrix that is not positive definite is refused.
     */
    public static Tensor solveSpd(Tensor a, Tensor b) {
        var result = torch.linalg_cholesky_ex(a, false, false);
        double[] info = toDoubleArray(result.get1().max());
        if (info[0] != 0) {
            throw new IllegalArgumentException("solveSpd: a matrix of shape " + shape(a) + " is not positive definite "
                    + "(Cholesky failed at column " + (long) info[0] + ")");
        }
        return torch.cholesky_solve(b, result.get0(), false);
    }
}

package dev.incontext.ops;

import java.util.Objects;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Tensor;

/**
 * The project's native ops, callable from Java on libtorch tensors. Each op checks its arguments in C++ and
 * carries its own autograd, so results have {@code grad_fn}s and gradients flow back to Java leaf tensors and
 * module parameters.
 *
 * <p>Errors: a bad argument (wrong rank, mismatched shapes, unsupported dtype or device, NaN or infinity in the
 * input, empty sequence) raises {@link IllegalArgumentException} whose message names the argument, the expected
 * and the actual shape/dtype/device; any other native failure raises {@link NativeOpException}. A null tensor
 * raises {@link NullPointerException} naming the argument. The JVM never crashes on bad input.
 *
 * <p>Thread safety: the ops hold no global state; calls from many threads are safe.
 */
public final class Ops {
    private Ops() {}

    /**
     * Attention {@code softmax(q k^T / sqrt(D)) v} over tensors of shape (B, H, T, D). CPU: float32, float64;
     * CUDA: float32, bfloat16, float16. With {@code causal}, query i attends to keys 0..i.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        requireNonNull(q, k, v);
        return call(() -> NativeOps.attention(q, k, v, causal, false, 0.0));
    }

    /** {@link #attention(Tensor, Tensor, Tensor, boolean)} with an explicit softmax scale instead of 1/sqrt(D). */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        requireNonNull(q, k, v);
        return call(() -> NativeOps.attention(q, k, v, causal, true, scale));
    }

    /** The naive CPU reference of attention (float64 accumulation): the spec the fast kernels are tested against. */
    public static Tensor attentionReference(Tensor q, Tensor k, Tensor v, boolean causal) {
        requireNonNull(q, k, v);
        return call(() -> NativeOps.attention_reference(q, k, v, causal, false, 0.0));
    }

    /**
     * All-prefix least squares: for x (B, n, d) and y (B, n), returns (B, n) whose entry k is the prediction at
     * x[b, k] of the fit to the first k points (0 at k = 0). {@code lambda = 0}: minimum-norm least squares, exact
     * when k &lt; d or points repeat; {@code lambda > 0}: ridge.
     */
    public static Tensor prefixLstsq(Tensor x, Tensor y, double lambda) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        return call(() -> NativeOps.prefix_lstsq(x, y, lambda));
    }

    /** The naive reference of {@link #prefixLstsq}: every prefix solved independently in float64. */
    public static Tensor prefixLstsqReference(Tensor x, Tensor y, double lambda) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        return call(() -> NativeOps.prefix_lstsq_reference(x, y, lambda));
    }

    private static void requireNonNull(Tensor q, Tensor k, Tensor v) {
        Objects.requireNonNull(q, "q");
        Objects.requireNonNull(k, "k");
        Objects.requireNonNull(v, "v");
    }

    private static Tensor call(Supplier<Tensor> op) {
        NativeLibrary.load();
        try {
            return op.get();
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    /** JavaCPP rethrows C++ exceptions as plain RuntimeExceptions; our argument checks start with "incontext.". */
    static RuntimeException translate(RuntimeException e) {
        if (e.getClass() != RuntimeException.class) {
            return e;
        }
        String message = e.getMessage() == null ? "native op failed without a message" : e.getMessage();
        if (message.startsWith("incontext.")) {
            return new IllegalArgumentException(message, e);
        }
        return new NativeOpException(message, e);
    }
}

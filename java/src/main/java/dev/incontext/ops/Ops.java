package dev.incontext.ops;

import java.util.Objects;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

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
 * <p>Binding: every op is called through the libtorch dispatcher by its registered schema
 * ({@code native/binding/registration.cpp}), so adding an op takes its C++ declaration and schema plus one method
 * here; the JNI layer ({@link NativeOps}) has a single entry point for all of them.
 *
 * <p>Thread safety: the ops hold no global state; calls from many threads are safe.
 */
public final class Ops {
    private Ops() {}

    /**
     * Attention {@code softmax(q k^T / sqrt(D)) v} over tensors of shape (B, H, T, D). CPU: float32, float64;
     * CUDA: float32, bfloat16, float16. With {@code causal}, query i attends to keys 0..i. On the CPU the head views
     * {@code x.view(B, T, H, D).transpose(1, 2)} of one projection are read in place, and their output comes back in
     * (B, T, H, D) memory, so that {@code o.transpose(1, 2).reshape(B, T, H * D)} is a view (native/include/incontext/ops.h).
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        requireNonNull(q, k, v);
        return op("attention", "", q, k, v, causal, null);
    }

    /** {@link #attention(Tensor, Tensor, Tensor, boolean)} with an explicit softmax scale instead of 1/sqrt(D). */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        requireNonNull(q, k, v);
        return op("attention", "", q, k, v, causal, scale);
    }

    /** The naive CPU reference of attention (float64 accumulation): the spec the fast kernels are tested against. */
    public static Tensor attentionReference(Tensor q, Tensor k, Tensor v, boolean causal) {
        requireNonNull(q, k, v);
        return op("attention_reference", "", q, k, v, causal, null);
    }

    /**
     * GELU with the tanh approximation, {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}: libtorch's
     * {@code gelu(x, "tanh")} to float32 rounding. CPU float32 and bfloat16 (computed in float32, rounded once) run one
     * fused pass forward and one backward (about 3x libtorch's kernels); other dtypes and devices run libtorch's gelu.
     * Any shape; differentiable in x.
     */
    public static Tensor geluTanh(Tensor x) {
        Objects.requireNonNull(x, "x");
        return op("gelu_tanh", "", x);
    }

    /**
     * Rotary position embedding of x (B, H, T, D), D even, by the tables cos and sin (T, D) in the interleaved-pairs
     * convention ({@link dev.incontext.model.RopeDecoder#ropeTables}): x cos + rot(x) sin, rot pairing
     * (x_2j, x_2j+1) to (-x_2j+1, x_2j). One fused pass on the CPU; differentiable in x. x may be a strided view.
     */
    public static Tensor rope(Tensor x, Tensor cos, Tensor sin) {
        requireNonNull(x, cos, sin);
        return op("rope", "", x, cos, sin);
    }

    /** The formula of {@link #rope} composed of tensor ops under plain autograd: its specification. */
    public static Tensor ropeReference(Tensor x, Tensor cos, Tensor sin) {
        requireNonNull(x, cos, sin);
        return op("rope_reference", "", x, cos, sin);
    }

    /**
     * All-prefix least squares: for x (B, n, d) and y (B, n), returns (B, n) whose entry k is the prediction at
     * x[b, k] of the fit to the first k points (0 at k = 0). {@code lambda = 0}: minimum-norm least squares, exact
     * when k &lt; d or points repeat; {@code lambda > 0}: ridge.
     */
    public static Tensor prefixLstsq(Tensor x, Tensor y, double lambda) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        return op("prefix_lstsq", "", x, y, lambda);
    }

    /**
     * {@link #prefixLstsq(Tensor, Tensor, double)} evaluated at separate queries: entry k is the prediction at
     * {@code queries[b, k]} (shape (B, n, d) like x) of the fit to the first k points. A null {@code queries}
     * means x itself. Differentiable in x, y and the queries.
     */
    public static Tensor prefixLstsq(Tensor x, Tensor y, double lambda, Tensor queries) {
        requireXy(x, y);
        return op("prefix_lstsq", "per_prompt", x, y, scalarLambda(lambda), queries);
    }

    /**
     * {@link #prefixLstsq(Tensor, Tensor, double, Tensor)} with one lambda per prompt: {@code lambdaPerPrompt} has
     * shape (B) (or is 0-D), any floating dtype and device, finite and &gt;= 0; zeros (minimum norm) and positive
     * values (ridge) may mix. Not differentiable in lambda. A null {@code queries} means x itself.
     */
    public static Tensor prefixLstsq(Tensor x, Tensor y, Tensor lambdaPerPrompt, Tensor queries) {
        requireXy(x, y);
        Objects.requireNonNull(lambdaPerPrompt, "lambdaPerPrompt");
        return op("prefix_lstsq", "per_prompt", x, y, lambdaPerPrompt, queries);
    }

    /**
     * All-prefix least squares that also returns the fitted weight vectors (B, n, d): weights[b, k] is the fit to
     * the first k points (zero at k = 0), for the implicit-weight metrics. The predictions are differentiable as
     * in {@link #prefixLstsq(Tensor, Tensor, double, Tensor)}; the weights carry no gradient. A null
     * {@code queries} means x itself.
     */
    public static PrefixFit prefixLstsqWithWeights(Tensor x, Tensor y, double lambda, Tensor queries) {
        requireXy(x, y);
        IValueVector out = callOp("prefix_lstsq_with_weights", "", x, y, scalarLambda(lambda), queries);
        return new PrefixFit(out.get(0).toTensor(), out.get(1).toTensor());
    }

    /** {@link #prefixLstsqWithWeights(Tensor, Tensor, double, Tensor)} with one lambda per prompt (shape (B)). */
    public static PrefixFit prefixLstsqWithWeights(Tensor x, Tensor y, Tensor lambdaPerPrompt, Tensor queries) {
        requireXy(x, y);
        Objects.requireNonNull(lambdaPerPrompt, "lambdaPerPrompt");
        IValueVector out = callOp("prefix_lstsq_with_weights", "", x, y, lambdaPerPrompt, queries);
        return new PrefixFit(out.get(0).toTensor(), out.get(1).toTensor());
    }

    /** The naive reference of {@link #prefixLstsq(Tensor, Tensor, Tensor, Tensor)} (float64, per prefix, on the CPU). */
    public static Tensor prefixLstsqReference(Tensor x, Tensor y, Tensor lambdaPerPrompt, Tensor queries) {
        requireXy(x, y);
        Objects.requireNonNull(lambdaPerPrompt, "lambdaPerPrompt");
        return op("prefix_lstsq_reference", "per_prompt", x, y, lambdaPerPrompt, queries);
    }

    /**
     * All-prefix averaging baseline: entry k is {@code queries[b, k] . (1/k) sum_{i<k} y[b, i] x[b, i]}, 0 at
     * k = 0. Shapes as {@link #prefixLstsq}; runs on the device of x; differentiable. A null {@code queries}
     * means x itself.
     */
    public static Tensor prefixAveraging(Tensor x, Tensor y, Tensor queries) {
        requireXy(x, y);
        return op("prefix_averaging", "", x, y, queries);
    }

    /**
     * All-prefix k-nearest-neighbours baseline: entry i is the mean of the y's of the min(i, k) earlier points
     * nearest (Euclidean) to {@code queries[b, i]}, 0 at i = 0; with {@code distanceWeighted} the mean is weighted
     * by 1/distance (points at distance 0 then get weight 1, all others 0). Runs on the device of x. A null
     * {@code queries} means x itself.
     */
    public static Tensor prefixKnn(Tensor x, Tensor y, int k, boolean distanceWeighted, Tensor queries) {
        requireXy(x, y);
        return op("prefix_knn", "", x, y, (long) k, distanceWeighted, queries);
    }

    /**
     * All-prefix gradient-boosted trees by XGBoost's exact greedy method (reg:squarederror): entry k is the prediction
     * at {@code queries[b, k]} of the booster fitted to the first k points of prompt b, 0 at k = 0 (a null
     * {@code queries} means x itself). CPU, float32 or float64 (read as float32, as XGBoost reads its data); the
     * result has the dtype of x. Not differentiable. See native/ops/boosted_trees/boosted_trees.h for what is computed.
     */
    public static Tensor prefixBoostedTrees(Tensor x, Tensor y, Tensor queries, int rounds, int maxDepth, double eta,
            double lambda, double minChildWeight, double baseScore) {
        requireXy(x, y);
        return op("prefix_boosted_trees", "", x, y, queries, (long) rounds, (long) maxDepth, eta, lambda,
                minChildWeight, baseScore);
    }

    /**
     * Each net's weighted mean squared error for many 2-layer ReLU nets (CPU, float32, contiguous): rows x (C, r, d),
     * targets y (C, r), row weights {@code mask} (C, nets, r) &gt;= 0, parameters {@code params} (C, nets, S) with
     * S = d hidden + 2 hidden + 1, each net's block being W1 (d, hidden) row-major, b1, w2 (hidden each) and b2.
     * Returns (C, nets); 0 for a net whose mask is all zero. Not differentiable.
     */
    public static Tensor reluNetLoss(Tensor x, Tensor y, Tensor mask, Tensor params, int hidden) {
        requireXy(x, y);
        Objects.requireNonNull(mask, "mask");
        Objects.requireNonNull(params, "params");
        return op("relu_net_loss", "", x, y, mask, params, (long) hidden);
    }

    /**
     * {@link #reluNetLoss} at the parameters on entry, then one Adam step (libtorch's Adam, step number {@code step}
     * &gt;= 1, no weight decay) on every net's own loss: updates {@code params}, {@code expAvg} and {@code expAvgSq}
     * (shaped like params, zeros before the first step) in place.
     */
    public static Tensor reluNetAdamStep(Tensor x, Tensor y, Tensor mask, Tensor params, Tensor expAvg,
            Tensor expAvgSq, int hidden, long step, double lr, double beta1, double beta2, double eps) {
        requireXy(x, y);
        Objects.requireNonNull(mask, "mask");
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(expAvg, "expAvg");
        Objects.requireNonNull(expAvgSq, "expAvgSq");
        return op("relu_net_adam_step", "", x, y, mask, params, expAvg, expAvgSq, (long) hidden, step, lr, beta1,
                beta2, eps);
    }

    /** Predictions (B, n) and the fitted weight vectors (B, n, d) of an all-prefix least-squares fit. */
    public record PrefixFit(Tensor predictions, Tensor weights) {}

    private static void requireXy(Tensor x, Tensor y) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
    }

    /** A 0-D float64 lambda for the per-prompt overloads. */
    private static Tensor scalarLambda(double lambda) {
        return torch.scalar_tensor(new Scalar(lambda),
                new TensorOptions(torch.ScalarType.Double));
    }

    /** The naive reference of {@link #prefixLstsq}: every prefix solved independently in float64. */
    public static Tensor prefixLstsqReference(Tensor x, Tensor y, double lambda) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        return op("prefix_lstsq_reference", "", x, y, lambda);
    }

    private static void requireNonNull(Tensor q, Tensor k, Tensor v) {
        Objects.requireNonNull(q, "q");
        Objects.requireNonNull(k, "k");
        Objects.requireNonNull(v, "v");
    }

    /** Calls {@code incontext::<name>.<overload>} and returns its single tensor result. */
    private static Tensor op(String name, String overload, Object... args) {
        return callOp(name, overload, args).get(0).toTensor();
    }

    /**
     * Calls {@code incontext::<name>.<overload>} through the dispatcher with the arguments in schema order: a
     * Tensor, Boolean, Long, Double, or null for an absent optional (None). Returns the stack of results.
     */
    private static IValueVector callOp(String name, String overload, Object... args) {
        NativeLibrary.load();
        IValueVector stack = new IValueVector();
        for (Object a : args) {
            IValue v;
            if (a == null) {
                v = new IValue();
            } else if (a instanceof Tensor t) {
                v = new IValue(t);
            } else if (a instanceof Boolean b) {
                v = new IValue(b.booleanValue());
            } else if (a instanceof Long l) {
                v = new IValue(l.longValue());
            } else if (a instanceof Double d) {
                v = new IValue(d.doubleValue());
            } else {
                throw new IllegalStateException("unsupported op argument " + a.getClass());
            }
            stack.push_back(v);
        }
        try {
            NativeOps.call_op(name, overload, stack);
        } catch (RuntimeException e) {
            throw translate(e);
        }
        return stack;
    }

    /** Leading tags java_api.h puts on native messages to say which kind of failure they are. */
    static final String ARGUMENT_TAG = "[invalid-argument] ";
    static final String FAILURE_TAG = "[op-failure] ";

    /**
     * JavaCPP rethrows C++ exceptions as plain RuntimeExceptions carrying only the message; the native side tags it
     * with its kind. A bad argument becomes {@link IllegalArgumentException}; an op failing on valid arguments (a
     * CUDA kernel error, a numerical overflow) and anything untagged (out of memory, an internal error) become
     * {@link NativeOpException}. The tag is removed from the message.
     */
    static RuntimeException translate(RuntimeException e) {
        if (e.getClass() != RuntimeException.class) {
            return e;
        }
        String message = e.getMessage() == null ? "native op failed without a message" : e.getMessage();
        if (message.startsWith(ARGUMENT_TAG)) {
            return new IllegalArgumentException(message.substring(ARGUMENT_TAG.length()), e);
        }
        if (message.startsWith(FAILURE_TAG)) {
            return new NativeOpException(message.substring(FAILURE_TAG.length()), e);
        }
        return new NativeOpException("incontext: native failure: " + message, e);
    }

    /**
     * The gradient pass of dynamic loss scaling (fp16 training): multiplies every tensor of {@code grads} by
     * {@code invScale} in place and sets {@code foundInf} to 1 when any of them holds an infinity or NaN (libtorch's
     * fused unscale-and-check; {@code foundInf} is set, never cleared). {@code foundInf} and {@code invScale}: one-element
     * float32 tensors on the gradients' device; the gradients float32, float16 or bfloat16.
     */
    public static void unscaleGradients(TensorVector grads, Tensor foundInf, Tensor invScale) {
        Objects.requireNonNull(grads, "grads");
        Objects.requireNonNull(foundInf, "foundInf");
        Objects.requireNonNull(invScale, "invScale");
        NativeLibrary.load();
        try {
            NativeOps.unscale_gradients(grads, foundInf, invScale);
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    /** A seeded random generator on {@code device} ("cpu", "cuda", "cuda:N"), including devices the presets lack. */
    public static Generator makeGenerator(String device, long seed) {
        Objects.requireNonNull(device, "device");
        NativeLibrary.load();
        try {
            return NativeOps.make_generator(device, seed);
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    /**
     * The instruction set the fused CPU attention kernel uses in this process: "avx512", "avx2+fma" or "portable"
     * (set {@code INCONTEXT_CPU_ISA=avx2} or {@code =portable} before the process starts to cap it).
     */
    public static String attentionCpuIsa() {
        NativeLibrary.load();
        return NativeOps.attention_cpu_isa();
    }

    /**
     * How many threads this library's CPU ops split their work over at the calling thread's torch thread count
     * ({@code at::get_num_threads()}). It equals that count in a correct build; 1 with more torch threads means the
     * op library was built without OpenMP and its kernels run serially.
     */
    public static long opThreads() {
        NativeLibrary.load();
        return NativeOps.op_threads();
    }
}

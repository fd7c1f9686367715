package dev.incontext.ops;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.ByVal;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.StdString;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * JavaCPP binding to {@code native/include/incontext/java_api.h}. Internal (public only because JavaCPP binds
 * public methods): call {@link Ops}, which checks
 * arguments for null, loads the libraries with a readable error and maps native errors to Java exceptions.
 *
 * <p>The binding does not inherit the pytorch preset (that would recompile its whole JNI surface); it loads the
 * preset's libraries first so that {@code libincontext_ops.so} finds libtorch already in the process.
 */
@Platform(compiler = "cpp20", include = "incontext/java_api.h", link = "incontext_ops")
@Namespace("incontext::java")
public final class NativeOps {
    static {
        Loader.load(torch.class);
        Loader.load();
    }

    private NativeOps() {}

    public static native @ByVal Tensor attention(@Const @ByRef Tensor q, @Const @ByRef Tensor k, @Const @ByRef Tensor v,
            @Cast("bool") boolean causal, @Cast("bool") boolean hasScale, double scale);

    public static native @ByVal Tensor attention_reference(@Const @ByRef Tensor q, @Const @ByRef Tensor k,
            @Const @ByRef Tensor v, @Cast("bool") boolean causal, @Cast("bool") boolean hasScale, double scale);

    public static native @ByVal Tensor prefix_lstsq(@Const @ByRef Tensor x, @Const @ByRef Tensor y, double lambda);

    public static native @ByVal Tensor prefix_lstsq_reference(@Const @ByRef Tensor x, @Const @ByRef Tensor y, double lambda);

    // Optional tensors (lambdaPerPrompt, queries) are passed as undefined tensors (new Tensor()).
    public static native @ByVal Tensor prefix_lstsq_general(@Const @ByRef Tensor x, @Const @ByRef Tensor y, double lambda,
            @Const @ByRef Tensor lambdaPerPrompt, @Const @ByRef Tensor queries);

    public static native @ByVal Tensor prefix_lstsq_reference_general(@Const @ByRef Tensor x, @Const @ByRef Tensor y,
            double lambda, @Const @ByRef Tensor lambdaPerPrompt, @Const @ByRef Tensor queries);

    public static native @ByVal Tensor prefix_lstsq_with_weights(@Const @ByRef Tensor x, @Const @ByRef Tensor y,
            double lambda, @Const @ByRef Tensor lambdaPerPrompt, @Const @ByRef Tensor queries, @ByRef Tensor weightsOut);

    public static native @ByVal Tensor prefix_averaging(@Const @ByRef Tensor x, @Const @ByRef Tensor y,
            @Const @ByRef Tensor queries);

    public static native @ByVal Tensor prefix_knn(@Const @ByRef Tensor x, @Const @ByRef Tensor y, long k,
            @Cast("bool") boolean distanceWeighted, @Const @ByRef Tensor queries);

    public static native @ByVal Generator make_generator(@StdString String device, long seed);

    public static native @Cast("bool") boolean set_blas_threads(int threads);

    public static native @StdString String attention_cpu_isa();
}

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
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
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

    /**
     * Calls the dispatcher op {@code incontext::<name>.<overload>} on a stack of IValues holding its arguments in
     * schema order; the results replace them on the stack. Every tensor op goes through this one entry point.
     */
    public static native void call_op(@StdString String name, @StdString String overload, @ByRef IValueVector stack);

    public static native @ByVal Generator make_generator(@StdString String device, long seed);

    public static native @Cast("bool") boolean set_blas_threads(int threads);

    public static native void unscale_gradients(@ByRef TensorVector grads, @ByRef Tensor foundInf,
            @Const @ByRef Tensor invScale);

    public static native @StdString String attention_cpu_isa();

    public static native long op_threads();

    public static native @StdString String blas_library();

    public static native @StdString String configure_blas();

    public static native @Cast("bool") boolean retain_freed_memory();

    public static native long minor_page_faults();
}

package dev.incontext.bench;

import dev.incontext.ops.Ops;
import dev.incontext.util.Tensors;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The native ops called from Java on the CPU against the libtorch way of doing the same from Java, in one run:
 * attention against scaled_dot_product_attention (causal, float32), forward alone and forward+backward (fresh leaf
 * tensors each call, gradient of sum(out * g), the same extra mul/sum for both). Run with
 * {@code java -cp 'benchmarks/target/incontext-benchmarks.jar:benchmarks/target/lib/*' org.openjdk.jmh.Main}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xss4m"})
public class OpsBenchmark {
    @Param({"64x8x82x32", "64x8x202x32"})  // B x H x T x D (JMH splits -p values on commas)
    public String shape;

    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor g;
    private PointerScope scope;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split("x");
        long[] s = {Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3])};
        torch.manual_seed(0);
        q = Tensors.randn(ScalarType.Float, s);
        k = Tensors.randn(ScalarType.Float, s);
        v = Tensors.randn(ScalarType.Float, s);
        g = Tensors.randn(ScalarType.Float, s);
    }

    @Setup(Level.Invocation)
    public void openScope() {
        scope = new PointerScope();
    }

    @TearDown(Level.Invocation)
    public void closeScope() {
        scope.close();
    }

    @Benchmark
    public Tensor attentionIncontext() {
        return Ops.attention(q, k, v, true);
    }

    @Benchmark
    public Tensor attentionLibtorchSdpa() {
        return torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, true, new DoubleOptional(), false);
    }

    @Benchmark
    public Tensor attentionIncontextFwdBwd() {
        Tensor qq = q.detach().requires_grad_(true);
        Tensor kk = k.detach().requires_grad_(true);
        Tensor vv = v.detach().requires_grad_(true);
        Ops.attention(qq, kk, vv, true).mul(g).sum().backward();
        return qq.grad();
    }

    @Benchmark
    public Tensor attentionLibtorchSdpaFwdBwd() {
        Tensor qq = q.detach().requires_grad_(true);
        Tensor kk = k.detach().requires_grad_(true);
        Tensor vv = v.detach().requires_grad_(true);
        torch.scaled_dot_product_attention(qq, kk, vv, new TensorOptional(), 0.0, true, new DoubleOptional(), false)
                .mul(g).sum().backward();
        return qq.grad();
    }
}

package dev.incontext.bench;

import dev.incontext.ops.Ops;
import dev.incontext.util.Tensors;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.StringViewOptional;
import org.bytedeco.pytorch.Tensor;
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
 * All-prefix minimum-norm least squares from Java, float64 on the CPU: the native op against (a) the reference
 * code's loop of one batched {@code linalg_lstsq} (gelsy) per prefix and (b) one batched {@code linalg_pinv} over
 * all B x n zero-padded prefixes, in one run. (b) needs B n^2 d doubles, so it only runs at B = 64 here; the native
 * benchmark (bench_prefix_lstsq) chunks it for the large shapes. Run with
 * {@code java -cp 'benchmarks/target/incontext-benchmarks.jar:benchmarks/target/lib/*' org.openjdk.jmh.Main PrefixLstsq}
 * and OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS=1 in the environment.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xss4m"})
public class PrefixLstsqBenchmark {
    @Param({"64,41,20", "1280,41,20"})
    public String shape;

    private Tensor x;
    private Tensor y;
    private long b;
    private long n;
    private long d;
    private PointerScope scope;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split(",");
        b = Long.parseLong(p[0]);
        n = Long.parseLong(p[1]);
        d = Long.parseLong(p[2]);
        torch.set_num_threads(2);
        torch.manual_seed(0);
        x = Tensors.randn(ScalarType.Double, b, n, d);
        y = Tensors.randn(ScalarType.Double, b, n);
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
    public Tensor incontextMinNorm() {
        return Ops.prefixLstsq(x, y, 0.0);
    }

    @Benchmark
    public Tensor incontextRidge() {
        return Ops.prefixLstsq(x, y, 1.0);
    }

    /** (a) the reference code's way: one batched gelsy least-squares solve per prefix. */
    @Benchmark
    public Tensor loopLinalgLstsqGelsy() {
        Tensor pred = Tensors.zeros(ScalarType.Double, b, n);
        for (long k = 1; k < n; k++) {
            Tensor w = torch.linalg_lstsq(x.narrow(1, 0, k), y.narrow(1, 0, k).unsqueeze(-1), new DoubleOptional(),
                    new StringViewOptional("gelsy")).get0();
            pred.select(1, k).copy_(torch.matmul(x.select(1, k).unsqueeze(1), w).reshape(-1));
        }
        return pred;
    }

    /** (b) one batched pseudo-inverse over all B x n zero-padded prefixes (B = 64 only: memory). */
    @Benchmark
    public Tensor batchedPinvAllPrefixes() {
        if (b > 64) {
            return x;  // skipped: the padded batch would need B n^2 d doubles at once
        }
        Tensor mask = torch.tril(torch.ones(new long[] {n, n}, Tensors.options(ScalarType.Double)), -1);
        Tensor xp = x.unsqueeze(1).mul(mask.view(1, n, n, 1));
        Tensor yp = y.unsqueeze(1).mul(mask.view(1, n, n)).unsqueeze(-1);
        Tensor w = torch.matmul(torch.linalg_pinv(xp), yp).squeeze(-1);
        return w.mul(x).sum(-1);
    }
}

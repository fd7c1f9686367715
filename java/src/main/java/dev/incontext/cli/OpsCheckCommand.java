package dev.incontext.cli;

import static dev.incontext.util.Tensors.randn;
import static dev.incontext.util.Tensors.relErr;

import dev.incontext.eval.baselines.ReluNetGD;
import dev.incontext.eval.baselines.XGBoostBaseline;
import dev.incontext.ops.Blas;
import dev.incontext.ops.LibtorchReference;
import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs every op on fresh random inputs and prints its error against the references. */
@Command(name = "ops-check", mixinStandardHelpOptions = true,
        description = {"Run each native op (attention, gelu_tanh, prefix_lstsq, prefix_averaging, prefix_knn, relu_net, prefix_boosted_trees) on random inputs and print its",
            "relative error (max |err| / max |ref|) against the references: libtorch compositions in float64, the naive float64 kernels,",
            "the GD-trained ReLU nets on tensor ops and XGBoost4J itself.",
            "Exits 1 if any error exceeds its tolerance."})
final class OpsCheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--seed", description = "Random seed (default: a fresh one, printed).")
    Long seed;

    private record Row(String op, String check, String shape, double error, double tolerance) {
        boolean ok() {
            return error <= tolerance;
        }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long s = seed != null ? seed : System.nanoTime() % 1_000_000_007L;
        torch.manual_seed(s);
        out.printf("ops-check: seed %d, %d threads (the ops' parallel loops run on %d), fused CPU attention %s, BLAS %s%n",
                s, torch.get_num_threads(), Ops.opThreads(), Ops.attentionCpuIsa(),
                Blas.describe());
        List<Row> rows = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {
            checkAttention(rows, new long[] {2, 4, 41, 32}, true);
            checkAttention(rows, new long[] {1, 2, 97, 59}, false);
            checkGelu(rows, new long[] {4, 82, 256});
            checkPrefixLstsq(rows, new long[] {4, 41, 20}, 0.0);
            checkPrefixLstsq(rows, new long[] {4, 11, 20}, 0.0);
            checkPrefixLstsq(rows, new long[] {4, 21, 8}, 0.5);
            checkPrefixBaselines(rows, new long[] {4, 41, 20});
            checkAccelerated(rows, 3, 21, 5);
        }
        out.printf("%-13s %-46s %-16s %10s %10s  %s%n", "op", "check", "shape", "rel.error", "tolerance", "");
        boolean ok = true;
        for (Row r : rows) {
            out.printf("%-13s %-46s %-16s %10.2e %10.1e  %s%n", r.op, r.check, r.shape, r.error, r.tolerance,
                    r.ok() ? "ok" : "FAIL");
            ok &= r.ok();
        }
        out.println(ok ? "all within tolerance" : "SOME CHECKS FAILED");
        out.flush();
        return ok ? 0 : 1;
    }

    private static String shape(long[] s) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < s.length; i++) {
            b.append(i == 0 ? "" : ",").append(s[i]);
        }
        return b.append(')').toString();
    }

    /** Forward output and the gradients of sum(out * g) with respect to each input. */
    private static List<Tensor> valueAndGrads(Function<Tensor[], Tensor> f, Tensor g, Tensor... inputs) {
        Tensor[] leaves = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            leaves[i] = inputs[i].detach().clone().requires_grad_(true);
        }
        Tensor out = f.apply(leaves);
        TensorVector grads = torch.grad(new TensorVector(out), new TensorVector(leaves), new TensorVector(g),
                new BoolOptional(), false, false);
        List<Tensor> result = new ArrayList<>();
        result.add(out.detach());
        for (int i = 0; i < inputs.length; i++) {
            result.add(grads.get(i));
        }
        return result;
    }

    private static void checkAttention(List<Row> rows, long[] shape, boolean causal) {
        String sh = shape(shape) + (causal ? " causal" : "");
        Tensor q = randn(ScalarType.Double, shape);
        Tensor k = randn(ScalarType.Double, shape);
        Tensor v = randn(ScalarType.Double, shape);
        Tensor g = randn(ScalarType.Double, shape);
        List<Tensor> lib = valueAndGrads(t -> LibtorchReference.attention(t[0], t[1], t[2], causal), g, q, k, v);
        List<Tensor> op64 = valueAndGrads(t -> Ops.attention(t[0], t[1], t[2], causal), g, q, k, v);
        List<Tensor> ref64 = valueAndGrads(t -> Ops.attentionReference(t[0], t[1], t[2], causal), g, q, k, v);
        Tensor g32 = g.to(ScalarType.Float);
        List<Tensor> op32 = valueAndGrads(t -> Ops.attention(t[0], t[1], t[2], causal), g32,
                q.to(ScalarType.Float), k.to(ScalarType.Float), v.to(ScalarType.Float));
        String[] names = {"out", "dq", "dk", "dv"};
        for (int i = 0; i < 4; i++) {
            rows.add(new Row("attention", names[i] + " f64 vs libtorch matmul-softmax-matmul", sh,
                    relErr(op64.get(i), lib.get(i)), 1e-10));
        }
        for (int i = 0; i < 4; i++) {
            rows.add(new Row("attention", names[i] + " f32 vs naive f64 reference", sh,
                    relErr(op32.get(i), ref64.get(i)), 1e-5));
        }
    }

    /** The fused float32 GELU and its gradient against libtorch's gelu(x, "tanh") in float64 (float32 rounding). */
    private static void checkGelu(List<Row> rows, long[] shape) {
        Tensor x = Tensors.scalarMul(randn(ScalarType.Double, shape), 3.0);
        Tensor g = randn(ScalarType.Double, shape);
        List<Tensor> lib = valueAndGrads(t -> torch.gelu(t[0], "tanh"), g, x);
        List<Tensor> op32 = valueAndGrads(t -> Ops.geluTanh(t[0]), g.to(ScalarType.Float), x.to(ScalarType.Float));
        rows.add(new Row("gelu_tanh", "out f32 vs libtorch f64", shape(shape), relErr(op32.get(0), lib.get(0)), 1e-6));
        rows.add(new Row("gelu_tanh", "dx f32 vs libtorch f64", shape(shape), relErr(op32.get(1), lib.get(1)), 1e-6));
    }

    private static void checkPrefixLstsq(List<Row> rows, long[] shape, double lambda) {
        String sh = shape(shape) + (lambda > 0 ? " ridge " + lambda : "");
        Tensor x = randn(ScalarType.Double, shape);
        Tensor y = randn(ScalarType.Double, shape[0], shape[1]);
        Tensor g = randn(ScalarType.Double, shape[0], shape[1]);
        List<Tensor> lib = valueAndGrads(t -> LibtorchReference.prefixLstsq(t[0], t[1], lambda), g, x, y);
        List<Tensor> op = valueAndGrads(t -> Ops.prefixLstsq(t[0], t[1], lambda), g, x, y);
        String how = lambda > 0 ? "linalg_solve" : "linalg_pinv";
        rows.add(new Row("prefix_lstsq", "pred f64 vs per-prefix " + how, sh, relErr(op.get(0), lib.get(0)), 1e-9));
        rows.add(new Row("prefix_lstsq", "dx f64 vs autograd through " + how, sh, relErr(op.get(1), lib.get(1)), 1e-7));
        rows.add(new Row("prefix_lstsq", "dy f64 vs autograd through " + how, sh, relErr(op.get(2), lib.get(2)), 1e-7));
        Tensor p32 = Ops.prefixLstsq(x.to(ScalarType.Float), y.to(ScalarType.Float), lambda);
        Tensor ref = Ops.prefixLstsqReference(x, y, lambda);
        if (lambda > 0 || shape[1] <= shape[2]) {
            // float32 storage is well-posed for ridge and for k < d (no near-singular square systems).
            rows.add(new Row("prefix_lstsq", "pred f32 vs f64 reference", sh, relErr(p32, ref), 1e-4));
        }
    }

    /**
     * The baselines on native ops against their references (Accelerated.reference): the GD-trained ReLU nets (100 Adam
     * steps in float32; only the order of sums differs, which Adam can amplify to about 1e-4 of the scale) and
     * XGBoost (identical trees expected; 1e-5 leaves room for float32 rounding of the leaf sums).
     */
    private static void checkAccelerated(List<Row> rows, long b, long n, long d) {
        String sh = "(" + b + "," + n + "," + d + ")";
        PromptBatch batch = new PromptBatch(randn(ScalarType.Float, b, n, d), randn(ScalarType.Float, b, n), Map.of(),
                (int) d);
        ReluNetGD net = ReluNetGD.garg(7);
        rows.add(new Row("relu_net", "GD nets pred f32 vs tensor ops + Adam", sh,
                relErr(net.predict(batch), net.reference().predict(batch)), 2e-3));
        XGBoostBaseline xgb = new XGBoostBaseline(0);
        rows.add(new Row("boosted_trees", "XGBoost pred vs XGBoost4J", sh,
                relErr(xgb.predict(batch), xgb.reference().predict(batch)), 1e-5));
    }

    private static void checkPrefixBaselines(List<Row> rows, long[] shape) {
        String sh = shape(shape);
        Tensor x = randn(ScalarType.Double, shape);
        Tensor y = randn(ScalarType.Double, shape[0], shape[1]);
        rows.add(new Row("prefix_avg", "pred f64 vs per-prefix mean of y x", sh,
                relErr(Ops.prefixAveraging(x, y, null), LibtorchReference.prefixAveraging(x, y)), 1e-12));
        rows.add(new Row("prefix_knn", "3-NN pred f64 vs per-prefix topk", sh,
                relErr(Ops.prefixKnn(x, y, 3, false, null), LibtorchReference.prefixKnn(x, y, 3)), 1e-12));
    }
}

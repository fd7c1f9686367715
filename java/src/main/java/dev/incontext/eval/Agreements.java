package dev.incontext.eval;

import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.model.Predictor;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * SPD, ILWD and MSPD between a reference predictor and others (Akyürek et al., papers.md §4.5), per number of
 * in-context examples k, on the prompts of one setting.
 *
 * <p>Method: for every prompt and prefix k, P probe points x'_1..x'_P are drawn from the setting's input distribution;
 * every predictor predicts at each of them from the first k examples (P calls of the query path, so P x the cost of
 * one evaluation; P = 2d + 1 by default, enough for a well-conditioned fit). SPD(k) is the mean squared difference of
 * the two predictions at the probes divided by the setting's normaliser. Each predictor's implicit weights are the
 * least-squares fit ŵ = argmin Σ_i (A(D_k)(x'_i) − w·x'_i)² (normal equations in float64, one d x d solve per prompt
 * and prefix); ILWD(k) = E ‖ŵ_A − ŵ_B‖² / d, so the zero predictor against the truth scores 1 on w ~ N(0, I).
 */
public final class Agreements {
    private Agreements() {}

    /**
     * Agreement of {@code reference} with each of {@code others}, on {@code prompts} prompts of {@code setting}
     * (prompts drawn from the same EVAL stream as {@link Evaluator}, under a separate index so they are fresh).
     */
    public static List<Agreement> measure(Predictor reference, List<? extends Predictor> others, TaskConfig trained,
            int trainedPoints, int modelPositions, Setting setting, Evaluator.Request request, int probes) {
        setting.unsupported(trained, trainedPoints, modelPositions).ifPresent(why -> {
            throw new IllegalArgumentException("setting " + setting.id() + " does not apply: " + why);
        });
        TaskSampler sampler = new TaskSampler(setting.task(trained), request.seed(), request.options());
        int points = setting.points(trainedPoints, modelPositions);
        int d = sampler.nDims();
        int p = probes > 0 ? probes : 2 * d + 1;
        if (p < d) {
            throw new IllegalArgumentException("ILWD needs at least d = " + d + " probe points; got " + probes);
        }
        double normaliser = setting.normaliser(trained);
        int m = others.size();
        double[][] spd = new double[m][points];
        double[][] ilwd = new double[m][points];
        int done = 0;
        for (long b = 0; done < request.prompts(); b++) {
            int size = Math.min(request.batchSize(), request.prompts() - done);
            try (PointerScope scope = new PointerScope()) {
                Generator gen = sampler.generator(Rng.derive(request.seed() ^ 0x5bd1e995L, Rng.Stream.EVAL, b));
                PromptBatch batch = setting.prompts(sampler, size, points, gen);
                List<Tensor> probeXs = new ArrayList<>();
                for (int i = 0; i < p; i++) {
                    probeXs.add(sampler.inputs().sample(size, points, d, gen, batch.xs().options()));
                }
                Tensor x = stack(probeXs).to(torch.ScalarType.Double);                 // (B, n, P, d)
                Tensor xtx = torch.matmul(x.transpose(2, 3), x);                       // (B, n, d, d)
                Tensor ref = predictions(reference, batch, probeXs);                   // (B, n, P)
                Tensor wRef = implicitWeights(x, xtx, ref);
                for (int j = 0; j < m; j++) {
                    Tensor other = predictions(others.get(j), batch, probeXs);
                    Tensor s = ref.sub(other).pow(new Scalar(2)).mean(new long[] {2}, false,
                            new ScalarTypeOptional()).div(new Scalar(normaliser));
                    Tensor w = wRef.sub(implicitWeights(x, xtx, other)).pow(new Scalar(2)).sum(new long[] {2}, false,
                            new ScalarTypeOptional()).div(new Scalar(d));
                    accumulate(spd[j], Tensors.toDoubleArray(s.sum(new long[] {0}, false,
                            new ScalarTypeOptional())));
                    accumulate(ilwd[j], Tensors.toDoubleArray(w.sum(new long[] {0}, false,
                            new ScalarTypeOptional())));
                }
            }
            done += size;
        }
        List<Agreement> out = new ArrayList<>();
        for (int j = 0; j < m; j++) {
            for (int k = 0; k < points; k++) {
                spd[j][k] /= done;
                ilwd[j][k] /= done;
            }
            double mspd = 0;
            int under = 0;
            for (int k = 1; k < Math.min(d, points); k++) {
                mspd += spd[j][k];
                under++;
            }
            out.add(new Agreement(setting.id(), reference.name(), others.get(j).name(), spd[j], ilwd[j],
                    under > 0 ? mspd / under : Double.NaN));
        }
        return out;
    }

    private static Tensor stack(List<Tensor> ts) {
        TensorVector v = new TensorVector();
        for (Tensor t : ts) {
            v.push_back(t);
        }
        return torch.stack(v, 2);
    }

    /**
     * (B, n, P) predictions of {@code predictor} at each probe set, from the first k examples at position k. Each
     * probe's forward pass runs in its own scope and only its (B, n) result is copied out, so memory stays at one
     * pass's activations however many probes there are.
     */
    private static Tensor predictions(Predictor predictor, PromptBatch batch, List<Tensor> probeXs) {
        Tensor out = torch.zeros(new long[] {batch.batchSize(), batch.points(), probeXs.size()},
                batch.xs().options().dtype(new ScalarTypeOptional(torch.ScalarType.Double)));
        for (int i = 0; i < probeXs.size(); i++) {
            try (PointerScope scope = new PointerScope()) {
                Tensor y = predictor.predict(batch, probeXs.get(i)).to(torch.ScalarType.Double);
                if (!Tensors.allFinite(y)) {
                    throw new IllegalStateException("predictor " + predictor.name() + " produced non-finite predictions");
                }
                out.select(2, i).copy_(y);
            }
        }
        return out;
    }

    /** Least-squares weights (B, n, d) of predictions (B, n, P) at probes x (B, n, P, d). */
    private static Tensor implicitWeights(Tensor x, Tensor xtx, Tensor y) {
        Tensor xty = torch.matmul(x.transpose(2, 3), y.unsqueeze(3));                  // (B, n, d, 1)
        return Tensors.solveSpd(xtx, xty).squeeze(3);
    }

    private static void accumulate(double[] into, double[] add) {
        for (int k = 0; k < into.length; k++) {
            into[k] += add[k];
        }
    }
}

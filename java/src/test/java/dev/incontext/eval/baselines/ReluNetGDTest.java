package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.tasks.PromptBatch;
import dev.incontext.testing.NativeScope;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class ReluNetGDTest {
    private static final int D = 5;
    private static final int N = 30;
    private static final int B = 3;

    private static PromptBatch batch(long seed) {
        var s = Prompts.sampler("relu_2nn_regression", "task.n_dims=" + D);
        return Prompts.sample(s, B, N, seed);
    }

    /**
     * Training fits: averaged over the nets with k >= 10 points, the prefix's mean squared error after the 100 Adam
     * steps is below a third of the error at initialisation (a net that did not train, or trained on the wrong points,
     * stays near the initial error, which is about E y^2 = d).
     */
    @Test
    void trainingErrorFalls() {
        ReluNetGD.Trained t = ReluNetGD.garg(7).train(batch(81), null);
        double[] before = Prompts.host(t.initialLoss());
        double[] after = Prompts.host(t.finalLoss());
        double sumBefore = 0;
        double sumAfter = 0;
        for (int p = 0; p < B; p++) {
            for (int k = 10; k < N; k++) {
                sumBefore += before[p * (N - 1) + k - 1];
                sumAfter += after[p * (N - 1) + k - 1];
            }
        }
        assertTrue(sumAfter < sumBefore / 3, "training error " + sumBefore + " -> " + sumAfter);
    }

    /** The same seed gives the same predictions; another seed other ones. */
    @Test
    void reproducibleWithTheSameSeed() {
        PromptBatch b = batch(82);
        double[] first = Prompts.host(ReluNetGD.garg(7).predict(b));
        assertArrayEquals(first, Prompts.host(ReluNetGD.garg(7).predict(b)));
        assertFalse(Arrays.equals(first, Prompts.host(ReluNetGD.garg(8).predict(b))));
    }

    /**
     * The prediction at position k uses only points before k: perturbing y_12 leaves the predictions at positions
     * 0..12 unchanged (each net sees the same data and the same random draws; 1e-6 allows for nothing but float32
     * reassociation) and changes later ones. At separate queries, changing the query of position 20 changes only
     * that prediction.
     */
    @Test
    void predictionsUseOnlyEarlierPoints() {
        causal(ReluNetGD.garg(7));
    }

    /** The same with minibatches of 8, smaller than most prefixes: random subsets, still of earlier points only. */
    @Test
    void smallMinibatchesUseOnlyEarlierPointsAndFit() {
        ReluNetGD small = new ReluNetGD(100, 5e-3, 100, 8, 7);
        causal(small);
        ReluNetGD.Trained t = small.train(batch(84), null);
        double before = Prompts.host(t.initialLoss().narrow(1, 9, N - 10).sum())[0];
        double after = Prompts.host(t.finalLoss().narrow(1, 9, N - 10).sum())[0];
        assertTrue(after < before / 3, "training error " + before + " -> " + after);
    }

    /**
     * The fused CPU kernel and the tensor-op path train the same nets: the same initialisation, minibatches and Adam
     * updates, summed in a different order. After 100 Adam steps in float32 their predictions agree to 1e-3 of the
     * prediction scale (measured: 1.9e-4 with full minibatches, 5e-7 with minibatches of 8) and their final losses
     * to 1e-3 relative, with full minibatches and with random minibatches of 8. A wrong gradient, a skipped row or another minibatch would move them by far more
     * than that (each net's prediction changes by 0.1 or more when one of its targets moves, see causality below).
     */
    @Test
    void fusedKernelAgreesWithTensorOps() {
        for (int minibatch : new int[] {100, 8}) {
            ReluNetGD net = new ReluNetGD(100, 5e-3, 100, minibatch, 7);
            PromptBatch b = batch(85);
            ReluNetGD.Trained fused = net.train(b, null, ReluNetGD.Kernel.FUSED_CPU);
            ReluNetGD.Trained ops = net.train(b, null, ReluNetGD.Kernel.TENSOR_OPS);
            double[] pf = Prompts.host(fused.predictions());
            double[] po = Prompts.host(ops.predictions());
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < pf.length; i++) {
                scale = Math.max(scale, Math.abs(po[i]));
                diff = Math.max(diff, Math.abs(pf[i] - po[i]));
            }
            assertTrue(diff <= 1e-3 * scale, "minibatch " + minibatch + ": predictions differ by " + diff
                    + " at scale " + scale);
            assertArrayEquals(Prompts.host(ops.initialLoss()), Prompts.host(fused.initialLoss()), 1e-5 * D,
                    "initial losses, minibatch " + minibatch);
            double[] lf = Prompts.host(fused.finalLoss());
            double[] lo = Prompts.host(ops.finalLoss());
            for (int i = 0; i < lf.length; i++) {
                assertEquals(lo[i], lf[i], 1e-3 * Math.max(lo[i], 1e-2), "final loss " + i + ", minibatch " + minibatch);
            }
        }
    }

    private static void causal(ReluNetGD net) {
        PromptBatch b = batch(83);
        Tensor ys = b.ys().clone();
        ys.narrow(1, 12, 1).add_(new Scalar(10.0));
        PromptBatch perturbed = new PromptBatch(b.xs(), ys, Map.of(), b.activeDims());
        double[] base = Prompts.host(net.predict(b));
        double[] pert = Prompts.host(net.predict(perturbed));
        double later = 0;
        for (int p = 0; p < B; p++) {
            for (int k = 0; k < N; k++) {
                if (k <= 12) {
                    assertEquals(base[p * N + k], pert[p * N + k], 1e-6, "prompt " + p + " k " + k);
                } else {
                    later = Math.max(later, Math.abs(base[p * N + k] - pert[p * N + k]));
                }
            }
        }
        assertTrue(later > 0.1, "perturbing y_12 should change later predictions; max change " + later);

        Tensor queries = b.xs().clone();
        double[] atOwn = Prompts.host(net.predict(b, queries));
        for (int i = 0; i < B * N; i++) {
            assertEquals(base[i], atOwn[i], 1e-6, "entry " + i + " with the prompt's x's passed as queries");
        }
        queries.narrow(1, 20, 1).mul_(new Scalar(-2.0));
        double[] moved = Prompts.host(net.predict(b, queries));
        for (int p = 0; p < B; p++) {
            for (int k = 0; k < N; k++) {
                if (k == 20) {
                    assertTrue(Math.abs(moved[p * N + k] - base[p * N + k]) > 1e-4, "prompt " + p);
                } else {
                    assertEquals(base[p * N + k], moved[p * N + k], 1e-6, "prompt " + p + " k " + k);
                }
            }
            assertEquals(0.0, moved[p * N], 0.0);
        }
    }
}

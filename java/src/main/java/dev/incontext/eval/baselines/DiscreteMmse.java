package dev.incontext.eval.baselines;

import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.TaskFamily;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Tensors;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The Bayes-optimal predictor for a finite task pool, dMMSE (Raventós et al. eq. 2, papers.md §9.9): with a uniform
 * prior over the pool's weights w_i and labels y = s x.w + N(0, sigma^2), the posterior mean after k examples is
 * w_k = sum_i softmax_i(-sum_{j<k} (y_j - s w_i.x_j)^2 / (2 sigma^2)) w_i and the prediction is s q.w_k; at k = 0 it
 * is the pool mean. s is the task's y_scale and sigma its noise_std. sigma = 0 is the limit: the posterior is uniform
 * over the pool members with the smallest squared error (exact ties share the weight), i.e. a hard assignment.
 *
 * <p>Batched on the batch's device in float64 over prompts x prefixes x pool members, with an online log-sum-exp over
 * chunks of the pool (running max, running normaliser and running weighted prediction), each chunk at most
 * {@value #CHUNK_ELEMENTS} elements of (B, n, chunk), so memory stays bounded for pools of millions. Cost
 * O(B n M d); the query path costs one more (B, n, d) x (d, chunk) product per chunk.
 */
public final class DiscreteMmse implements Predictor {
    static final long CHUNK_ELEMENTS = 1L << 22;
    private final Tensor pool;        // (M, d) or (M, d, 1), kept by the sampler
    private final double noiseStd;
    private final double yScale;
    private final long chunkElements;

    /** @param pool the pool's weights (M, d) or (M, d, 1), any dtype and device */
    public DiscreteMmse(Tensor pool, double noiseStd, double yScale) {
        this(pool, noiseStd, yScale, CHUNK_ELEMENTS);
    }

    /** With a chosen bound on the elements of one (B, n, chunk) block (tests use small ones to exercise chunking). */
    DiscreteMmse(Tensor pool, double noiseStd, double yScale, long chunkElements) {
        // No view is taken here: one made now would belong to the caller's PointerScope, which may close before
        // predict runs; the pool itself is kept alive by its owner (the sampler).
        if (!(pool.dim() == 2 || (pool.dim() == 3 && pool.size(2) == 1)) || pool.size(0) < 1) {
            throw new IllegalArgumentException("dmmse: the pool must have shape [M, d] with M >= 1; got "
                    + Tensors.shape(pool));
        }
        if (!(noiseStd >= 0) || Double.isInfinite(noiseStd) || !(yScale > 0) || Double.isInfinite(yScale)) {
            throw new IllegalArgumentException("dmmse: needs noise_std >= 0 and y_scale > 0, both finite; got "
                    + noiseStd + " and " + yScale);
        }
        this.pool = pool;
        this.noiseStd = noiseStd;
        this.yScale = yScale;
        this.chunkElements = chunkElements;
    }

    /** The dMMSE of a task: refuses tasks that are not linear regression over a finite pool, naming why. */
    public static DiscreteMmse forTask(TaskConfig task, TaskSampler sampler) {
        if (!TaskFamily.of(task).linear()) {
            throw new IllegalArgumentException("dmmse: needs a linear regression task (linear, noisy or sparse), "
                    + "whose labels are y = s x.w + noise; " + task.name().name().toLowerCase() + " is not one");
        }
        // The pool is the sampler's (the training distribution's): dMMSE stays the pool's posterior mean when the
        // prompts come from elsewhere (Raventós et al.'s fresh "latent" tasks); the likelihood is the task's.
        if (sampler.config().numTasks() == 0) {
            throw new IllegalArgumentException("dmmse: the task has no finite pool (task.num_tasks = 0, fresh weights "
                    + "for every prompt); set task.num_tasks > 0, or use bayes_ridge for Gaussian weights");
        }
        if (task.renormalizeYs()) {
            throw new IllegalArgumentException("dmmse: task.renormalize_ys rescales the labels by a batch-wide "
                    + "standard deviation, so the pool's weights no longer give the labels' likelihood; turn it off");
        }
        Map<String, Tensor> p = sampler.taskPool().orElseThrow(() -> new IllegalStateException(
                "dmmse: the sampler has no task pool although task.num_tasks = " + sampler.config().numTasks()));
        return new DiscreteMmse(p.get("w"), task.noiseStd(), task.yScale());
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor x = PrefixMoments.f64(batch.xs());
        Tensor y = PrefixMoments.f64(batch.ys());
        Tensor q = queries == null ? null : PrefixMoments.queries(batch, queries);
        Tensor w = (pool.dim() == 3 ? pool.squeeze(2) : pool).to(x.device(), torch.ScalarType.Double);
        if (w.size(1) != x.size(2)) {
            throw new IllegalArgumentException("dmmse: the pool's weights have " + w.size(1) + " dimensions but the "
                    + "prompts have " + x.size(2));
        }
        long b = x.size(0);
        long n = x.size(1);
        long m = w.size(0);
        long chunk = Math.max(1, Math.min(m, chunkElements / Math.max(1, b * n)));
        // Running state, updated in place so that each chunk's temporaries are freed with its own scope.
        boolean soft = noiseStd > 0;
        Tensor run = torch.full(new long[] {b, n, 1}, new Scalar(soft ? Double.NEGATIVE_INFINITY
                : Double.POSITIVE_INFINITY), x.options());   // soft: max logit so far; hard: min squared error
        Tensor runSum = torch.zeros(new long[] {b, n}, x.options());
        Tensor runDot = torch.zeros(new long[] {b, n}, x.options());
        for (long start = 0; start < m; start += chunk) {
            try (PointerScope scope = new PointerScope()) {
                long len = Math.min(chunk, m - start);
                Tensor wc = w.narrow(0, start, len).t().mul(new Scalar(yScale));             // (d, len), scaled
                Tensor xw = torch.matmul(x, wc);                                               // (B, n, len)
                Tensor sse = PrefixMoments.exclusiveCumsum(y.unsqueeze(2).sub(xw).square()); // sum over j < k
                Tensor qw = q == null ? xw : torch.matmul(q, wc);
                Tensor weight;
                Tensor carry;
                Tensor next;
                if (soft) {
                    Tensor logit = sse.mul(new Scalar(-0.5 / (noiseStd * noiseStd)));
                    next = torch.maximum(run, logit.amax(new long[] {2}, true));
                    weight = logit.sub(next).exp();
                    carry = run.sub(next).exp().squeeze(2);          // exp(-inf) = 0 before the first chunk
                } else {
                    next = torch.minimum(run, sse.amin(new long[] {2}, true));
                    weight = sse.eq(next).to(torch.ScalarType.Double);
                    carry = run.eq(next).to(torch.ScalarType.Double).squeeze(2);
                }
                runSum.mul_(carry).add_(weight.sum(new long[] {2}, false, null));
                runDot.mul_(carry).add_(weight.mul(qw).sum(new long[] {2}, false, null));
                run.copy_(next);
            }
        }
        return PrefixMoments.finish(runDot.div(runSum), batch, name());
    }

    @Override
    public String name() {
        return "dMMSE";
    }
}

package dev.incontext.model;

import dev.incontext.tasks.PromptBatch;
import java.util.Collections;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A stack of linear self-attention layers with explicit weights, as von Oswald et al. write them (papers.md §5):
 * tokens e_i = (x_i; y_i) for the k examples before position k and a query token (x_q; 0); each layer adds
 * P W_V Σ_i e_i (e_iᵀ W_Kᵀ W_Q e_j) / k to every token j, where the sum runs over the example tokens (the query
 * reads them and is read by no one); the prediction is the query's y-slot, negated. {@link #gradientDescent}
 * builds the weights under which K layers are exactly K steps of gradient descent from w = 0 on
 * (1/2k) Σ (y_i − wᵀx_i)². Cost: per position k, K layers of (k+1) x k products; the positions run in a loop.
 */
public final class LinearAttentionStack implements Predictor {
    /** One layer's (d+1) x (d+1) matrices. */
    public record Layer(Tensor wk, Tensor wq, Tensor wv, Tensor p) {}

    private final List<Layer> layers;
    private final String name;

    public LinearAttentionStack(List<Layer> layers, String name) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("a stack needs at least one layer");
        }
        this.layers = List.copyOf(layers);
        this.name = name;
    }

    /**
     * von Oswald's construction: W_K = W_Q = [[I_d, 0], [0, 0]], W_V = [[0, 0], [0, −1]] (lower-left W₀ = 0), P = η I.
     * Layer l moves every y-slot from y_j − w_lᵀx_j to y_j − w_{l+1}ᵀx_j and the query's from −w_lᵀx_q to
     * −w_{l+1}ᵀx_q, with w_{l+1} = w_l + (η/k) Σ_i (y_i − w_lᵀx_i) x_i.
     */
    public static LinearAttentionStack gradientDescent(int nDims, int steps, double eta,
            TensorOptions o) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1; got " + steps);
        }
        long e = nDims + 1L;
        Tensor select = torch.zeros(new long[] {e, e}, o);
        select.narrow(0, 0, nDims).narrow(1, 0, nDims).copy_(torch.eye(nDims, o));
        Tensor wv = torch.zeros(new long[] {e, e}, o);
        wv.select(0, nDims).select(0, nDims).fill_(new Scalar(-1.0));
        Tensor p = torch.eye(e, o).mul(new Scalar(eta));
        Layer layer = new Layer(select, select, wv, p);
        return new LinearAttentionStack(Collections.nCopies(steps, layer),
                "GD construction (" + steps + (steps == 1 ? " layer" : " layers") + ", eta=" + eta + ")");
    }

    public int depth() {
        return layers.size();
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor xs = batch.xs();
        Tensor q = queries == null ? xs : queries;
        long b = xs.size(0);
        long n = xs.size(1);
        Tensor out = torch.zeros(new long[] {b, n}, xs.options());
        for (long k = 1; k < n; k++) {
            Tensor ctx = torch.cat(new TensorVector(xs.narrow(1, 0, k), batch.ys().narrow(1, 0, k).unsqueeze(2)), 2);
            Tensor query = torch.cat(new TensorVector(q.narrow(1, k, 1), torch.zeros(new long[] {b, 1, 1},
                    xs.options())), 2);
            Tensor tokens = torch.cat(new TensorVector(ctx, query), 1);                 // (B, k+1, e)
            for (Layer l : layers) {
                Tensor examples = tokens.narrow(1, 0, k);                                 // (B, k, e)
                Tensor keys = torch.matmul(examples, l.wk().t());
                Tensor values = torch.matmul(examples, l.wv().t());
                Tensor qs = torch.matmul(tokens, l.wq().t());                             // (B, k+1, e)
                Tensor scores = torch.matmul(qs, keys.transpose(1, 2));                   // (B, k+1, k)
                Tensor update = torch.matmul(torch.matmul(scores, values), l.p().t()).div(new Scalar(k));
                tokens = tokens.add(update);
            }
            out.select(1, k).copy_(tokens.select(1, k).select(1, xs.size(2)).neg());
        }
        return out;
    }

    @Override
    public String name() {
        return name;
    }
}

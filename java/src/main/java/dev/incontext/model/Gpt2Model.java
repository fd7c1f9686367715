package dev.incontext.model;

import dev.incontext.config.RunConfig.AttentionImpl;
import dev.incontext.config.RunConfig.ModelConfig;
import dev.incontext.ops.Ops;
import dev.incontext.util.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * GPT-2 style transformer for in-context regression (Garg et al.): linear read-in of the prompt tokens, learned
 * absolute positions, pre-LN blocks (causal multi-head attention, MLP 4x with tanh-GELU), final LayerNorm, linear
 * read-out of one scalar per token. Attention runs through the project's op ({@link Ops#attention}) or, for
 * comparison, libtorch's scaled_dot_product_attention. Initialisation as GPT-2 inside the transformer: weights
 * N(0, 0.02), biases 0, LayerNorm 1/0, positions N(0, 0.02), the two residual projections of each block
 * N(0, 0.02 / sqrt(2 L)). The read-in and read-out layers sit outside GPT-2 in the reference (Garg et al.) and keep
 * PyTorch's default linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias; with N(0, 0.02)
 * there the prompt's values are drowned by the position embedding and training stalls far longer.
 */
public final class Gpt2Model extends InContextModel {
    private static final double LN_EPS = 1e-5;
    private final Module root = new Module("gpt2");
    private final PromptEncoding encoding;
    private final AttentionImpl attention;
    private final int layers;
    private final int heads;
    private final int width;
    private final Tensor readInW;
    private final Tensor readInB;
    private final Tensor wpe;
    private final Tensor lnFW;
    private final Tensor lnFB;
    private final Tensor readOutW;
    private final Tensor readOutB;
    private final Block[] blocks;

    private record Block(Tensor ln1W, Tensor ln1B, Tensor attnW, Tensor attnB, Tensor projW, Tensor projB,
            Tensor ln2W, Tensor ln2B, Tensor fcW, Tensor fcB, Tensor outW, Tensor outB) {}

    public Gpt2Model(ModelConfig c, int nDims, Generator gen, TensorOptions o) {
        this.encoding = PromptEncoding.of(c.encoding());
        this.attention = c.attention();
        this.layers = c.layers();
        this.heads = c.heads();
        this.width = c.width();
        long in = encoding.tokenDim(nDims);
        long positions = encoding.length(c.nPositions());
        double std = 0.02;
        double residStd = 0.02 / Math.sqrt(2.0 * layers);
        readInW = param("read_in_weight", uniform(gen, o, 1.0 / Math.sqrt(in), width, in));
        readInB = param("read_in_bias", uniform(gen, o, 1.0 / Math.sqrt(in), width));
        wpe = param("wpe", normal(gen, o, std, positions, width));
        blocks = new Block[layers];
        for (int l = 0; l < layers; l++) {
            String p = "h" + l + "_";
            blocks[l] = new Block(
                    param(p + "ln_1_weight", torch.ones(new long[] {width}, o)),
                    param(p + "ln_1_bias", torch.zeros(new long[] {width}, o)),
                    param(p + "attn_c_attn_weight", normal(gen, o, std, 3L * width, width)),
                    param(p + "attn_c_attn_bias", torch.zeros(new long[] {3L * width}, o)),
                    param(p + "attn_c_proj_weight", normal(gen, o, residStd, width, width)),
                    param(p + "attn_c_proj_bias", torch.zeros(new long[] {width}, o)),
                    param(p + "ln_2_weight", torch.ones(new long[] {width}, o)),
                    param(p + "ln_2_bias", torch.zeros(new long[] {width}, o)),
                    param(p + "mlp_c_fc_weight", normal(gen, o, std, 4L * width, width)),
                    param(p + "mlp_c_fc_bias", torch.zeros(new long[] {4L * width}, o)),
                    param(p + "mlp_c_proj_weight", normal(gen, o, residStd, width, 4L * width)),
                    param(p + "mlp_c_proj_bias", torch.zeros(new long[] {width}, o)));
        }
        lnFW = param("ln_f_weight", torch.ones(new long[] {width}, o));
        lnFB = param("ln_f_bias", torch.zeros(new long[] {width}, o));
        readOutW = param("read_out_weight", uniform(gen, o, 1.0 / Math.sqrt(width), 1, width));
        readOutB = param("read_out_bias", uniform(gen, o, 1.0 / Math.sqrt(width), 1));
    }

    private static Tensor normal(Generator gen, TensorOptions o, double std, long... shape) {
        return torch.randn(shape, new GeneratorOptional(gen), o).mul(new Scalar(std));
    }

    /** U(-bound, bound). */
    private static Tensor uniform(Generator gen, TensorOptions o, double bound, long... shape) {
        return torch.rand(shape, new GeneratorOptional(gen), o).mul(new Scalar(2 * bound)).sub(new Scalar(bound));
    }

    private Tensor param(String name, Tensor init) {
        // register_parameter returns a reference into the module's parameter table, which later registrations
        // may reallocate: keep our own handle (same TensorImpl, so gradients and optimiser updates are shared).
        return new Tensor(root.register_parameter(name, init, true));
    }

    @Override
    public Module module() {
        return root;
    }

    @Override
    public String name() {
        return "Transformer";
    }

    @Override
    public Tensor forward(Tensor xs, Tensor ys) {
        return forward(xs, ys, null);
    }

    /**
     * Predictions (B, n) and the residual stream they came from, from one forward pass: at the x tokens ({@code
     * atX}, where predictions are read; the state at point k has seen examples 0 .. k − 1 and x_k) and at the y tokens
     * ({@code atY}; the state at point k has seen examples 0 .. k). Entry 0 after the embedding, entry l after block
     * l, each (B, n, width).
     */
    public record WithHidden(Tensor predictions, List<Tensor> atX, List<Tensor> atY) {}

    /** The forward pass that also returns the residual stream at both tokens of every point, for linear probes. */
    public WithHidden forwardWithHidden(Tensor xs, Tensor ys) {
        if (encoding.length(xs.size(1)) != 2 * xs.size(1)) {
            throw new IllegalArgumentException("hidden states per x and y token need an encoding with one token each "
                    + "(interleaved, token_pair or token_pair_xy); this model's encoding has "
                    + encoding.length(xs.size(1)) + " tokens for " + xs.size(1) + " points");
        }
        List<Tensor> hidden = new ArrayList<>();
        Tensor preds = forward(xs, ys, hidden);
        List<Tensor> atX = new ArrayList<>();
        List<Tensor> atY = new ArrayList<>();
        for (Tensor h : hidden) {
            Tensor pairs = h.reshape(h.size(0), h.size(1) / 2, 2, width);
            atX.add(pairs.select(2, 0));
            atY.add(pairs.select(2, 1));
        }
        return new WithHidden(preds, List.copyOf(atX), List.copyOf(atY));
    }

    public int layers() {
        return layers;
    }

    public int width() {
        return width;
    }

    private Tensor forward(Tensor xs, Tensor ys, List<Tensor> hidden) {
        Tensor tokens = embeddable(xs, ys);
        long b = tokens.size(0);
        long len = tokens.size(1);
        Tensor h = torch.linear(tokens, readInW, new TensorOptional(readInB)).add(wpe.narrow(0, 0, len));
        if (hidden != null) {
            hidden.add(h);
        }
        long headDim = width / heads;
        for (Block k : blocks) {
            TensorVector qkv = qkv(h, k);
            Tensor att = causalAttention(heads(qkv.get(0), b, len, headDim), heads(qkv.get(1), b, len, headDim),
                    heads(qkv.get(2), b, len, headDim));
            h = h.add(torch.linear(att.transpose(1, 2).reshape(b, len, width), k.projW, new TensorOptional(k.projB)));
            h = h.add(mlp(h, k));
            if (hidden != null) {
                hidden.add(h);
            }
        }
        h = layerNorm(h, lnFW, lnFB);
        Tensor out = torch.linear(h, readOutW, new TensorOptional(readOutB)).squeeze(2);
        return encoding.readout(out);
    }

    /** The prompt's tokens, refused when the model has too few positions for them. */
    private Tensor embeddable(Tensor xs, Tensor ys) {
        Tensor tokens = encoding.encode(xs, ys);
        long len = tokens.size(1);
        if (len > wpe.size(0)) {
            throw new IllegalArgumentException("prompt of " + xs.size(1) + " points needs " + len
                    + " positions but the model has " + wpe.size(0) + " (model.n_positions too small)");
        }
        return tokens;
    }

    /** q, k and v of a block's pre-LN attention, each (B, T, width). */
    private TensorVector qkv(Tensor h, Block k) {
        return torch.linear(layerNorm(h, k.ln1W, k.ln1B), k.attnW, new TensorOptional(k.attnB)).split(width, 2);
    }

    /** Causal attention over (B, H, T, D): the project's op or libtorch's SDPA, as configured. */
    private Tensor causalAttention(Tensor q, Tensor k, Tensor v) {
        return CausalAttention.apply(attention, q, k, v);
    }

    /**
     * Predictions at separate queries without one forward pass per position. Causality makes the hidden states of
     * the context tokens x_0, y_0, .., x_{k-1}, y_{k-1} independent of what comes after them, so the prompt runs once
     * as usual, and beside it runs a stream of n query tokens: query k sits at x_k's position (2k) and, in every
     * layer, attends to the prompt's keys and values at positions below 2k and to its own. Cost: the ordinary forward
     * pass plus the query stream (its projections and MLPs cost half the prompt's, its attention is n x 3n through
     * libtorch's masked scaled_dot_product_attention), about 1.6x a forward pass in all instead of n passes.
     */
    @Override
    public Tensor forwardAtQueries(Tensor xs, Tensor ys, Tensor queries) {
        if (queries.dim() != 3 || queries.size(0) != xs.size(0) || queries.size(1) != xs.size(1)
                || queries.size(2) != xs.size(2)) {
            throw new IllegalArgumentException("queries must have the shape of xs " + Tensors.shape(xs)
                    + "; got " + Tensors.shape(queries));
        }
        Tensor tokens = embeddable(xs, ys);
        long b = tokens.size(0);
        long len = tokens.size(1);
        long n = xs.size(1);
        Tensor qTokens = encoding.encode(queries, torch.zeros_like(ys)).reshape(b, n, 2, -1).select(2, 0);
        Tensor qPositions = torch.arange(new Scalar(0), new Scalar(len), new Scalar(2),
                wpe.options().dtype(new ScalarTypeOptional(torch.ScalarType.Long)));
        Tensor h = torch.linear(tokens, readInW, new TensorOptional(readInB)).add(wpe.narrow(0, 0, len));
        Tensor hq = torch.linear(qTokens, readInW, new TensorOptional(readInB)).add(torch.index_select(wpe, 0, qPositions));
        // mask (n, len + n): query k sees prompt positions j < 2k and itself (column len + k)
        TensorOptions longs = xs.options().dtype(new ScalarTypeOptional(torch.ScalarType.Long));
        Tensor row = torch.arange(new Scalar(0), new Scalar(n), longs).unsqueeze(1);
        Tensor col = torch.arange(new Scalar(0), new Scalar(len + n), longs).unsqueeze(0);
        Tensor mask = col.lt(row.mul(new Scalar(2))).logical_or(col.eq(row.add(new Scalar(len))));
        long headDim = width / heads;
        for (Block k : blocks) {
            TensorVector qkv = qkv(h, k);
            TensorVector qkvQ = qkv(hq, k);
            Tensor kk = heads(qkv.get(1), b, len, headDim);
            Tensor v = heads(qkv.get(2), b, len, headDim);
            Tensor att = causalAttention(heads(qkv.get(0), b, len, headDim), kk, v);
            Tensor keys = torch.cat(new TensorVector(kk, heads(qkvQ.get(1), b, n, headDim)), 2);
            Tensor values = torch.cat(new TensorVector(v, heads(qkvQ.get(2), b, n, headDim)), 2);
            Tensor attQ = torch.scaled_dot_product_attention(heads(qkvQ.get(0), b, n, headDim), keys, values,
                    new TensorOptional(mask), 0.0, false, new DoubleOptional(), false);
            h = h.add(torch.linear(att.transpose(1, 2).reshape(b, len, width), k.projW, new TensorOptional(k.projB)));
            hq = hq.add(torch.linear(attQ.transpose(1, 2).reshape(b, n, width), k.projW, new TensorOptional(k.projB)));
            h = h.add(mlp(h, k));
            hq = hq.add(mlp(hq, k));
        }
        hq = layerNorm(hq, lnFW, lnFB);
        return torch.linear(hq, readOutW, new TensorOptional(readOutB)).squeeze(2);
    }

    private Tensor heads(Tensor t, long b, long len, long headDim) {
        return t.view(b, len, heads, headDim).transpose(1, 2);
    }

    private Tensor mlp(Tensor h, Block k) {
        Tensor m = layerNorm(h, k.ln2W, k.ln2B);
        Tensor fc = Ops.geluTanh(torch.linear(m, k.fcW, new TensorOptional(k.fcB)));
        return torch.linear(fc, k.outW, new TensorOptional(k.outB));
    }

    private Tensor layerNorm(Tensor x, Tensor w, Tensor bias) {
        return torch.layer_norm(x, new long[] {width}, new TensorOptional(w), new TensorOptional(bias), LN_EPS, false);
    }
}

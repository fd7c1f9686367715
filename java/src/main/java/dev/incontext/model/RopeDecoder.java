package dev.incontext.model;

import dev.incontext.config.ModularConfig;
import dev.incontext.ops.Ops;
import dev.incontext.util.Tensors;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * He et al.'s decoder for token tasks (papers.md §3.2): token embedding, no absolute positions, rotary position
 * embeddings on q and k of every head, pre-LN blocks with causal attention (the project's op, or libtorch SDPA) and
 * an MLP 4x (ReLU, tanh-GELU, or SwiGLU), final LayerNorm, and an LM head tied to the embedding. No linear biases.
 *
 * <p>Initialisation is the reference's as it takes effect: every weight N(0, 0.02), the MLP's output projection
 * divided by sqrt(2L). The reference also divides its LM head by sqrt(n_embd), but then ties the head to the
 * embedding, which replaces that weight by the embedding's N(0, 0.02); and its attention output projection is not
 * named "proj", so it keeps N(0, 0.02). Both are reproduced here.
 *
 * <p>RoPE is applied to q and k before the attention op (rather than fused into it): the rotation is two
 * element-wise products on (B, H, T, D), small beside the attention and MLP matrix products.
 */
public final class RopeDecoder implements TrainableModel {
    private static final double LN_EPS = 1e-5;
    private final Module root = new Module("rope_decoder");
    private final ModularConfig.Model config;
    private final int width;
    private final int heads;
    private final int headDim;
    private final Tensor wte;
    private final Tensor lnFW;
    private final Tensor lnFB;
    private final Block[] blocks;
    private final Map<Long, Tensor[]> ropeTables = new ConcurrentHashMap<>();

    private record Block(Tensor ln1W, Tensor ln1B, Tensor qkvW, Tensor oW, Tensor ln2W, Tensor ln2B, Tensor fcW,
            Tensor gateW, Tensor projW) {}

    public RopeDecoder(ModularConfig.Model c, int vocab, Generator gen, TensorOptions o) {
        this.config = c;
        this.width = c.nEmbd();
        this.heads = c.nHead();
        this.headDim = width / heads;
        int layers = c.nLayer();
        double std = 0.02;
        wte = param("wte", normal(gen, o, std, vocab, width));
        blocks = new Block[layers];
        // SwiGLU's hidden width as in LLaMA: 2/3 of 4 n_embd, rounded up to a multiple of 8.
        long hidden = c.activation() == ModularConfig.Activation.SWIGLU
                ? 8 * ((4L * (2 * width / 3) + 7) / 8) : 4L * width;
        for (int l = 0; l < layers; l++) {
            String p = "h" + l + "_";
            blocks[l] = new Block(
                    param(p + "ln_1_weight", torch.ones(new long[] {width}, o)),
                    param(p + "ln_1_bias", torch.zeros(new long[] {width}, o)),
                    param(p + "attn_qkv_weight", normal(gen, o, std, 3L * width, width)),
                    param(p + "attn_o_weight", normal(gen, o, std, width, width)),
                    param(p + "ln_2_weight", torch.ones(new long[] {width}, o)),
                    param(p + "ln_2_bias", torch.zeros(new long[] {width}, o)),
                    param(p + "mlp_fc_weight", normal(gen, o, std, hidden, width)),
                    c.activation() == ModularConfig.Activation.SWIGLU
                            ? param(p + "mlp_gate_weight", normal(gen, o, std, hidden, width)) : null,
                    param(p + "mlp_proj_weight", normal(gen, o,
                            c.activation() == ModularConfig.Activation.SWIGLU ? std : std / Math.sqrt(2.0 * layers),
                            width, hidden)));
        }
        lnFW = param("ln_f_weight", torch.ones(new long[] {width}, o));
        lnFB = param("ln_f_bias", torch.zeros(new long[] {width}, o));
    }

    private static Tensor normal(Generator gen, TensorOptions o, double std, long... shape) {
        return torch.randn(shape, new GeneratorOptional(gen), o).mul(new Scalar(std));
    }

    private Tensor param(String name, Tensor init) {
        // Our own handle on the registered parameter (same TensorImpl): the module's table may reallocate.
        return new Tensor(root.register_parameter(name, init, true));
    }

    /** The parameters, for optimisers and checkpoints. */
    @Override
    public Module module() {
        return root;
    }

    /** The token embedding, which is also the LM head's weight (tied: one tensor). */
    public Tensor embedding() {
        return wte;
    }

    /** The LM head's weight: the embedding itself. */
    public Tensor headWeight() {
        return wte;
    }

    public ModularConfig.Model config() {
        return config;
    }

    /** Logits (B, T, V) for tokens (B, T): entry t predicts token t + 1. */
    public Tensor forward(Tensor tokens) {
        return logits(hidden(tokens));
    }

    /** The final hidden states (B, T, C), after the last LayerNorm. */
    public Tensor hidden(Tensor tokens) {
        return run(tokens, -1, -1);
    }

    /** Logits (..., V) of hidden states (..., C) through the tied head. */
    public Tensor logits(Tensor hidden) {
        return torch.matmul(hidden, wte.t());
    }

    /**
     * The attention probabilities (B, T, T) of one head of one layer for tokens (B, T), computed explicitly (the
     * attention op does not return them); no gradient is needed.
     */
    public Tensor attentionMap(Tensor tokens, int layer, int head) {
        if (layer < 0 || layer >= blocks.length || head < 0 || head >= heads) {
            throw new IllegalArgumentException("layer must be in 0.." + (blocks.length - 1) + " and head in 0.."
                    + (heads - 1) + "; got layer " + layer + ", head " + head);
        }
        return run(tokens, layer, head);
    }

    private Tensor run(Tensor tokens, int mapLayer, int mapHead) {
        long b = tokens.size(0);
        long len = tokens.size(1);
        Tensor h = torch.embedding(wte, tokens);
        Tensor[] cs = rope(len, h);
        for (int l = 0; l < blocks.length; l++) {
            Block k = blocks[l];
            Tensor a = layerNorm(h, k.ln1W, k.ln1B);
            TensorVector qkv = torch.linear(a, k.qkvW).split(width, 2);
            Tensor q = rotate(qkv.get(0).view(b, len, heads, headDim).transpose(1, 2), cs);
            Tensor kk = rotate(qkv.get(1).view(b, len, heads, headDim).transpose(1, 2), cs);
            Tensor v = qkv.get(2).view(b, len, heads, headDim).transpose(1, 2);
            if (l == mapLayer) {
                Tensor s = torch.matmul(q.select(1, mapHead), kk.select(1, mapHead).transpose(1, 2))
                        .mul(new Scalar(1.0 / Math.sqrt(headDim)));
                Tensor mask = torch.ones(new long[] {len, len}, s.options()).triu(1).to(torch.ScalarType.Bool);
                return torch.softmax(s.masked_fill(mask, new Scalar(Double.NEGATIVE_INFINITY)), 2);
            }
            Tensor att = CausalAttention.apply(config.attention(), q, kk, v);
            h = h.add(torch.linear(att.transpose(1, 2).reshape(b, len, width), k.oW));
            Tensor m = layerNorm(h, k.ln2W, k.ln2B);
            Tensor fc = torch.linear(m, k.fcW);
            Tensor act = switch (config.activation()) {
                case RELU -> torch.relu(fc);
                case GELU -> Ops.geluTanh(fc);
                case SWIGLU -> torch.silu(fc).mul(torch.linear(m, k.gateW));
            };
            h = h.add(torch.linear(act, k.projW));
        }
        return layerNorm(h, lnFW, lnFB);
    }

    private Tensor layerNorm(Tensor x, Tensor w, Tensor bias) {
        return torch.layer_norm(x, new long[] {width}, new TensorOptional(w), new TensorOptional(bias), LN_EPS, false);
    }

    /** cos and sin tables (T, D) for positions 0..T-1, cached per length (and kept across PointerScopes). */
    private Tensor[] rope(long len, Tensor like) {
        return ropeTables.computeIfAbsent(len, n -> {
            Tensor[] t = ropeTables(0, n, headDim, config.ropeBase(), like.options());
            return new Tensor[] {Tensors.keep(t[0]), Tensors.keep(t[1])};
        });
    }

    /**
     * cos and sin tables (T, D) for positions offset..offset+T-1: coordinates 2j and 2j + 1 of position t rotate by
     * the angle t * base^(-2j / D) (the interleaved-pairs convention of rotary-embedding-torch).
     */
    public static Tensor[] ropeTables(long offset, long len, int dim, double base, TensorOptions o) {
        TensorOptions d = o.dtype(new ScalarTypeOptional(torch.ScalarType.Double));
        Tensor j = torch.arange(new Scalar(0), new Scalar(dim / 2), d);
        Tensor freq = torch.pow(new Scalar(base), j.mul(new Scalar(-2.0 / dim)));                   // (D/2)
        Tensor pos = torch.arange(new Scalar(offset), new Scalar(offset + len), d);
        Tensor angle = torch.outer(pos, freq).repeat_interleave(2, new LongOptional(1), new LongOptional()); // (T, D)
        torch.ScalarType target = o.dtype().toScalarType();
        return new Tensor[] {angle.cos().to(target), angle.sin().to(target)};
    }

    /**
     * Rotates (B, H, T, D) by the tables (T, D): x cos + rot(x) sin, rot pairing (x_2j, x_2j+1) -> (-x_2j+1, x_2j), in
     * one pass of the native rope op (composed of tensor ops, the rotation and its backward cost about as much as
     * the attention op itself at the CPU default's shape: benchmarks/results/modular-train-step-cpu.md).
     */
    public static Tensor rotate(Tensor x, Tensor[] cosSin) {
        return Ops.rope(x, cosSin[0], cosSin[1]);
    }
}

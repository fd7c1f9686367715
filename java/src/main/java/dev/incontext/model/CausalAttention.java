package dev.incontext.model;

import dev.incontext.config.RunConfig.AttentionImpl;
import dev.incontext.ops.Ops;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** Causal attention over (B, H, T, D) as a model's config chooses it: the project's op, or libtorch's SDPA. */
final class CausalAttention {
    private CausalAttention() {}

    static Tensor apply(AttentionImpl impl, Tensor q, Tensor k, Tensor v) {
        return impl == AttentionImpl.INCONTEXT ? Ops.attention(q, k, v, true)
                : torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, true, new DoubleOptional(),
                        false);
    }
}

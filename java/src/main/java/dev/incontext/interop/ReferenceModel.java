package dev.incontext.interop;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The PyTorch model classes of the papers' own code whose state dicts this toolkit reads and writes. */
public enum ReferenceModel {
    /**
     * Garg et al.'s {@code TransformerModel} (dtsip/in-context-learning, src/models.py): {@code _read_in}
     * (nn.Linear d -> n_embd), {@code _backbone} (Hugging Face {@code GPT2Model}) and {@code _read_out}
     * (nn.Linear n_embd -> 1); maps onto {@link dev.incontext.model.Gpt2Model} with the interleaved encoding.
     */
    GARG,
    /**
     * He et al.'s {@code RoPETransformer} (ablghtianyi/ICL_Modular_Arithmetic, _src/models.py) with its
     * {@code RoPEFlashAttention}: {@code transformer.wte}, blocks {@code transformer.h.N}, {@code transformer.ln_f},
     * and {@code lm_head} tied to the embedding; maps onto {@link dev.incontext.model.RopeDecoder}.
     */
    HE;

    /** The name on the command line: {@code garg} or {@code he}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The reference named {@code id}; an unknown name lists the known ones. */
    public static ReferenceModel parse(String id) {
        for (ReferenceModel r : values()) {
            if (r.id().equals(id.toLowerCase(Locale.ROOT))) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown reference model '" + id + "'; known: "
                + Arrays.stream(values()).map(ReferenceModel::id).collect(Collectors.joining(", ")));
    }
}

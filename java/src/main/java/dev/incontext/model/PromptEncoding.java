package dev.incontext.model;

import dev.incontext.config.RunConfig.EncodingKind;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * How a prompt (xs (B, n, d), ys (B, n)) becomes a token sequence and how predictions are read back. The model
 * does not hard-code one: each paper's encoding is a class.
 */
public sealed interface PromptEncoding {
    /** Tokens (B, length(n), tokenDim(d)). */
    Tensor encode(Tensor xs, Tensor ys);

    /** Predictions (B, n) from the model's scalar outputs (B, length(n)): by default read at the x tokens. */
    default Tensor readout(Tensor outputs) {
        return readEven(outputs);
    }

    /** Tokens per prompt of n points: by default one x token and one y token per point. */
    default long length(long points) {
        return 2 * points;
    }

    long tokenDim(long dims);

    static PromptEncoding of(EncodingKind kind) {
        return switch (kind) {
            case INTERLEAVED -> new Interleaved();
            case TOKEN_PAIR -> new TokenPair();
            case TOKEN_PAIR_XY -> new TokenPairXY();
            case CONCAT -> throw new IllegalArgumentException(
                    "the concat encoding feeds the linear self-attention model, which reads it itself");
        };
    }

    /** Stacks a (B, n, t) x-token and y-token tensor into (B, 2n, t): x_0, y_0, x_1, y_1, ... */
    private static Tensor interleave(Tensor xTokens, Tensor yTokens) {
        long b = xTokens.size(0);
        long n = xTokens.size(1);
        long t = xTokens.size(2);
        return torch.stack(new TensorVector(xTokens, yTokens), 2).reshape(b, 2 * n, t);
    }

    /** The token-pair encodings' x tokens [0, x_i], (B, n, d + 1). */
    private static Tensor zeroThenX(Tensor xs) {
        return torch.cat(new TensorVector(torch.zeros(new long[] {xs.size(0), xs.size(1), 1}, xs.options()), xs), 2);
    }

    /** Predictions are read at the x tokens (even positions), output channel 0. */
    private static Tensor readEven(Tensor outputs) {
        long b = outputs.size(0);
        return outputs.reshape(b, outputs.size(1) / 2, 2).select(2, 0);
    }

    /** Garg et al.: x_i, then (y_i, 0, ..., 0) zero-padded to d; read at the x positions. */
    record Interleaved() implements PromptEncoding {
        @Override
        public Tensor encode(Tensor xs, Tensor ys) {
            Tensor yTok = torch.zeros_like(xs);
            yTok.select(2, 0).copy_(ys);
            return interleave(xs, yTok);
        }

        @Override
        public long tokenDim(long dims) {
            return dims;
        }
    }

    /** Akyürek et al. / Raventós et al.: tokens [0, x_i] and [y_i, 0]; read at the x tokens. */
    record TokenPair() implements PromptEncoding {
        @Override
        public Tensor encode(Tensor xs, Tensor ys) {
            Tensor yTok = torch.zeros(new long[] {xs.size(0), xs.size(1), xs.size(2) + 1}, xs.options());
            yTok.select(2, 0).copy_(ys);
            return interleave(zeroThenX(xs), yTok);
        }

        @Override
        public long tokenDim(long dims) {
            return dims + 1;
        }
    }

    /**
     * Akyürek et al.'s token pairs with x_i repeated in the y token: [0, x_i] and [y_i, x_i]; read at the x tokens.
     * Not a paper's encoding: an ablation. With [y_i, 0] one attention layer sees nothing of x_i at the y_i token,
     * so it cannot weight y_i by x_i · x_q as one gradient-descent step does; here it can (akyurek-algorithms,
     * depth 1).
     */
    record TokenPairXY() implements PromptEncoding {
        @Override
        public Tensor encode(Tensor xs, Tensor ys) {
            return interleave(zeroThenX(xs), torch.cat(new TensorVector(ys.unsqueeze(2), xs), 2));
        }

        @Override
        public long tokenDim(long dims) {
            return dims + 1;
        }
    }

    /**
     * Zhang, Frei & Bartlett / von Oswald et al.: columns (x_i; y_i) and a query column (x_q; 0), i.e. the
     * embedding matrix E (B, d + 1, k + 1) for a query after k examples. {@link #encode} returns the columns of
     * all n points as rows (B, n, d + 1); the linear self-attention model forms each prefix's E from them.
     */
    record Concat() implements PromptEncoding {
        @Override
        public Tensor encode(Tensor xs, Tensor ys) {
            return torch.cat(new TensorVector(xs, ys.unsqueeze(2)), 2);
        }

        @Override
        public Tensor readout(Tensor outputs) {
            return outputs;
        }

        @Override
        public long length(long points) {
            return points;
        }

        @Override
        public long tokenDim(long dims) {
            return dims + 1;
        }
    }
}

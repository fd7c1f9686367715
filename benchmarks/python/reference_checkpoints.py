"""Checkpoints made by the papers' own model classes, for `incontext import` / `export-torch` and their tests.

The two reference architectures are built in PyTorch as the papers' code defines them (reference/papers.md):
  garg  Garg et al.'s TransformerModel: read-in nn.Linear(n_dims, n_embd), Hugging Face GPT2Model (fed through
        inputs_embeds; n_positions = 2 * points, dropout 0), read-out nn.Linear(n_embd, 1); prompts interleave x_i and
        (y_i, 0, ..., 0); predictions are read at the x tokens.
  he    He et al.'s RoPETransformer: token embedding transformer.wte, pre-LN blocks transformer.h.N (ln_1, attn with a
        fused bias-free to_qkv, RoPE of rotary-embedding-torch on q and k, causal attention scaled by head_dim^-1/2,
        bias-free output o; ln_2, MLP 4x c_fc / act / c_proj or SwiGLU w1 / w2 / w3), transformer.ln_f, and a
        bias-free lm_head tied to the embedding. Sequences x y z x y z ..., z = (a x + b y) mod p.

  python reference_checkpoints.py fixtures OUT_DIR
      trains each a few steps (seeded) and writes, per model, the checkpoint as the reference code saves it (Garg:
      state.pt = {model_state_dict, optimizer_state_dict, train_step}; He: model.state_dict()) and expected.pt: the
      sizes, fixed prompts and the model's outputs on them (Garg: predictions; He: logits at the z tokens and the
      accuracy per shot). The test resources under java/src/test/resources/dev/incontext/interop/ come from this.
      Garg's GPT2Model keeps an unused token embedding of GPT2Config's default 50257 rows; the fixture uses
      vocab_size=1 to stay small (the embedding never enters the forward pass: prompts come in as inputs_embeds).
  python reference_checkpoints.py check garg|he STATE_DICT EXPECTED [--vocab-size N]
      builds the reference model with the sizes in EXPECTED, loads STATE_DICT with load_state_dict(strict=True) and
      compares its outputs on EXPECTED's prompts (max |difference| <= 1e-5 + 1e-5 |expected|); prints one line, exit
      status 0 when they match (the round trip of the Java tests).

Needs torch, transformers (garg) and rotary-embedding-torch (he).
"""
import argparse
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

TOL = 1e-5


# ------------------------------------------------------------------------------------------------------------- Garg
class GargTransformer(nn.Module):
    def __init__(self, n_dims, n_positions, n_embd, n_layer, n_head, vocab_size=50257):
        super().__init__()
        from transformers import GPT2Config, GPT2Model
        cfg = GPT2Config(n_positions=2 * n_positions, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, use_cache=False, vocab_size=vocab_size)
        self._read_in = nn.Linear(n_dims, n_embd)
        self._backbone = GPT2Model(cfg)
        self._read_out = nn.Linear(n_embd, 1)

    @staticmethod
    def combine(xs, ys):
        b, n, d = xs.shape
        ys_wide = torch.cat((ys.view(b, n, 1), torch.zeros(b, n, d - 1)), dim=2)
        return torch.stack((xs, ys_wide), dim=2).view(b, 2 * n, d)

    def forward(self, xs, ys):
        out = self._backbone(inputs_embeds=self._read_in(self.combine(xs, ys))).last_hidden_state
        return self._read_out(out)[:, ::2, 0]


# --------------------------------------------------------------------------------------------------------------- He
class HeAttention(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        from rotary_embedding_torch import RotaryEmbedding
        self.n_head = n_head
        self.to_qkv = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.o = nn.Linear(n_embd, n_embd, bias=False)
        self.rotary_emb = RotaryEmbedding(dim=n_embd // n_head)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
                   for z in self.to_qkv(x).split(c, dim=2))
        q = self.rotary_emb.rotate_queries_or_keys(q)
        k = self.rotary_emb.rotate_queries_or_keys(k)
        y = F.scaled_dot_product_attention(q, k, v, scale=q.size(-1) ** -0.5, is_causal=True)
        return self.o(y.transpose(1, 2).reshape(b, t, c))


class HeMlp(nn.Module):
    def __init__(self, n_embd, act):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.act = nn.ReLU() if act == "relu" else nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=False)

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class HeSwiGlu(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        hidden = 4 * int(2 * n_embd / 3)
        hidden = 8 * ((hidden + 7) // 8)
        self.w1 = nn.Linear(n_embd, hidden, bias=False)
        self.w2 = nn.Linear(hidden, n_embd, bias=False)
        self.w3 = nn.Linear(n_embd, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class HeBlock(nn.Module):
    def __init__(self, n_embd, n_head, act):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = HeAttention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = HeSwiGlu(n_embd) if act == "swiglu" else HeMlp(n_embd, act)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class HeRoPETransformer(nn.Module):
    def __init__(self, vocab_size, n_embd, n_head, n_layer, act):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),
            h=nn.ModuleList(HeBlock(n_embd, n_head, act) for _ in range(n_layer)),
            ln_f=nn.LayerNorm(n_embd)))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        for name, m in self.named_modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                if "proj" in name:
                    m.weight.data /= (2 * n_layer) ** 0.5
            if isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        x = self.transformer.wte(idx)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def he_rows(p, n_points, rows, gen, tasks=None):
    """Token rows x y z ... (inputs: all but the last z) and the z's, one task (a, b) per row."""
    if tasks is None:
        ab = torch.randint(0, p, (rows, 2), generator=gen)
    else:
        ab = tasks[torch.randint(0, len(tasks), (rows,), generator=gen)]
    xy = torch.randint(0, p, (rows, n_points, 2), generator=gen)
    z = (ab[:, None, 0] * xy[:, :, 0] + ab[:, None, 1] * xy[:, :, 1]) % p
    seq = torch.stack((xy[:, :, 0], xy[:, :, 1], z), dim=2).reshape(rows, 3 * n_points)
    return seq[:, :-1].contiguous(), z


def z_logits(model, inputs):
    n = (inputs.size(1) + 1) // 3
    return model(inputs)[:, 3 * torch.arange(n) + 1]


# ---------------------------------------------------------------------------------------------------------- commands
GARG_SIZES = dict(n_dims=5, n_positions=11, n_embd=16, n_layer=2, n_head=2)
HE_MODELS = {"he": dict(p=11, n_embd=16, n_head=2, n_layer=2, act="relu", n_points=8),
             "he-swiglu": dict(p=11, n_embd=24, n_head=2, n_layer=1, act="swiglu", n_points=8)}


def fixtures(out):
    torch.set_num_threads(1)
    os.makedirs(os.path.join(out, "garg"), exist_ok=True)
    torch.manual_seed(0)
    s = GARG_SIZES
    model = GargTransformer(s["n_dims"], s["n_positions"], s["n_embd"], s["n_layer"], s["n_head"], vocab_size=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    steps = 30
    for _ in range(steps):
        xs = torch.randn(64, s["n_positions"], s["n_dims"], generator=gen)
        ys = (xs @ torch.randn(64, s["n_dims"], 1, generator=gen))[:, :, 0]
        loss = (model(xs, ys) - ys).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    xs = torch.randn(4, s["n_positions"], s["n_dims"], generator=gen)
    ys = (xs @ torch.randn(4, s["n_dims"], 1, generator=gen))[:, :, 0]
    with torch.no_grad():
        preds = model(xs, ys)
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
                "train_step": steps}, os.path.join(out, "garg", "state.pt"))
    torch.save({"config": dict(s), "xs": xs, "ys": ys, "predictions": preds},
               os.path.join(out, "garg", "expected.pt"))
    print(f"garg: loss {loss.item():.4f} after {steps} steps")

    for name, h in HE_MODELS.items():
        os.makedirs(os.path.join(out, name), exist_ok=True)
        torch.manual_seed(0)
        vocab = h["p"] + 18
        model = HeRoPETransformer(vocab, h["n_embd"], h["n_head"], h["n_layer"], h["act"])
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.98))
        gen = torch.Generator().manual_seed(1)
        tasks = torch.randint(1, h["p"], (4, 2), generator=gen)
        steps = 600
        for _ in range(steps):
            inputs, z = he_rows(h["p"], h["n_points"], 64, gen, tasks)
            logits = z_logits(model, inputs)
            loss = F.cross_entropy(logits.reshape(-1, vocab), z.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        inputs, z = he_rows(h["p"], h["n_points"], 32, gen, tasks)
        with torch.no_grad():
            logits = z_logits(model, inputs)
        acc = (logits.argmax(-1) == z).float().mean(0)
        top2 = logits.topk(2, dim=-1).values
        margin = (top2[..., 0] - top2[..., 1]).min().item()   # the Java test needs decisive argmaxes
        torch.save(model.state_dict(), os.path.join(out, name, "model.pt"))
        torch.save({"config": dict(h), "inputs": inputs, "z": z, "logits": logits, "accuracy": acc},
                   os.path.join(out, name, "expected.pt"))
        print(f"{name}: loss {loss.item():.4f} after {steps} steps, accuracy per shot {acc.tolist()}, "
              f"smallest top-2 logit margin {margin:.3g}")


def check(kind, state_dict, expected, vocab_size):
    exp = torch.load(expected)
    c = exp["config"]
    if kind == "garg":
        model = GargTransformer(c["n_dims"], c["n_positions"], c["n_embd"], c["n_layer"], c["n_head"],
                                vocab_size=vocab_size)
    else:
        model = HeRoPETransformer(c["p"] + 18, c["n_embd"], c["n_head"], c["n_layer"], c["act"])
    model.load_state_dict(torch.load(state_dict, weights_only=True), strict=True)
    model.eval()
    with torch.no_grad():
        if kind == "garg":
            got, want = model(exp["xs"], exp["ys"]), exp["predictions"]
        else:
            got, want = z_logits(model, exp["inputs"]), exp["logits"]
    diff = (got - want).abs()
    ok = bool((diff <= TOL + TOL * want.abs()).all())
    print(f"{kind}: loaded strictly, max |difference| {diff.max().item():.3g} over {want.numel()} outputs: "
          f"{'match' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("out")
    c = sub.add_parser("check")
    c.add_argument("kind", choices=["garg", "he"])
    c.add_argument("state_dict")
    c.add_argument("expected")
    c.add_argument("--vocab-size", type=int, default=50257)
    a = ap.parse_args()
    if a.cmd == "fixtures":
        fixtures(a.out)
        return 0
    return check(a.kind, a.state_dict, a.expected, a.vocab_size)


if __name__ == "__main__":
    sys.exit(main())

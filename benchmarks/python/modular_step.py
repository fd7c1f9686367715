"""One training step of the RoPE decoder for modular arithmetic in Python PyTorch eager, for the Java/Python
comparison (benchmarks/modular_step_compare.sh).

Same architecture as dev.incontext.model.RopeDecoder (token embedding tied to the head, rotary embeddings on q and k
with interleaved pairs, pre-LN blocks without linear biases, causal scaled_dot_product_attention, 4x ReLU MLP, final
LayerNorm), same step as dev.incontext.train.ModularTrainer: sample rows of x y z tokens (distinct pairs per row,
tasks tiled over the batch), cross-entropy on the z positions only, AdamW (0.9, 0.98) with weight decay on >= 2-D
parameters, read the loss. Prints one line:
  python p=... layers=... width=... batch=... median_ms=...
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


class RopeDecoder(torch.nn.Module):
    def __init__(self, vocab, layers, heads, width, base=10000.0):
        super().__init__()
        self.heads, self.width, self.base = heads, width, base
        std = 0.02
        p = lambda *shape, s=std: torch.nn.Parameter(torch.randn(*shape) * s)
        self.wte = p(vocab, width)
        self.blocks = torch.nn.ParameterList()
        for _ in range(layers):
            self.blocks.extend([torch.nn.Parameter(torch.ones(width)), torch.nn.Parameter(torch.zeros(width)),
                                p(3 * width, width), p(width, width),
                                torch.nn.Parameter(torch.ones(width)), torch.nn.Parameter(torch.zeros(width)),
                                p(4 * width, width), p(width, 4 * width, s=std / (2 * layers) ** 0.5)])
        self.ln_w, self.ln_b = torch.nn.Parameter(torch.ones(width)), torch.nn.Parameter(torch.zeros(width))
        self.tables = {}

    def rope(self, length, dim):
        if length not in self.tables:
            j = torch.arange(dim // 2, dtype=torch.float64)
            freq = self.base ** (-2.0 * j / dim)
            angle = torch.outer(torch.arange(length, dtype=torch.float64), freq).repeat_interleave(2, dim=1)
            self.tables[length] = (angle.cos().float(), angle.sin().float())
        return self.tables[length]

    @staticmethod
    def rotate(x, cos, sin):
        pairs = x.reshape(*x.shape[:-1], -1, 2)
        rot = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).reshape(x.shape)
        return x * cos + rot * sin

    def hidden(self, tokens):
        b, t = tokens.shape
        hd = self.width // self.heads
        cos, sin = self.rope(t, hd)
        h = F.embedding(tokens, self.wte)
        blocks = list(self.blocks)
        for i in range(0, len(blocks), 8):
            l1w, l1b, qkv_w, o_w, l2w, l2b, fc_w, proj_w = blocks[i:i + 8]
            a = F.layer_norm(h, (self.width,), l1w, l1b)
            q, k, v = F.linear(a, qkv_w).split(self.width, dim=2)
            q, k, v = (x.view(b, t, self.heads, hd).transpose(1, 2) for x in (q, k, v))
            q, k = self.rotate(q, cos, sin), self.rotate(k, cos, sin)
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + F.linear(att.transpose(1, 2).reshape(b, t, self.width), o_w)
            m = F.layer_norm(h, (self.width,), l2w, l2b)
            h = h + F.linear(F.relu(F.linear(m, fc_w)), proj_w)
        return F.layer_norm(h, (self.width,), self.ln_w, self.ln_b)


def sample(tasks, pairs, rows, points, p, gen):
    n = tasks.shape[0]
    tiles = -(-rows // n)
    idx = torch.argsort(torch.rand(tiles, n, generator=gen), dim=1).reshape(-1)[:rows]
    row_tasks = tasks[idx]
    pick = torch.argsort(torch.rand(rows, pairs.shape[0], generator=gen), dim=1)[:, :points]
    row_pairs = pairs[pick.reshape(-1)].view(rows, points, 2)
    z = (row_pairs[..., 0] * row_tasks[:, :1] + row_pairs[..., 1] * row_tasks[:, 1:]) % p
    tokens = torch.stack((row_pairs[..., 0], row_pairs[..., 1], z), dim=2).reshape(rows, 3 * points)
    return tokens[:, :-1].contiguous(), z


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--p", type=int, default=29)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--points", type=int, default=32)
    ap.add_argument("--tasks", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    all_pairs = torch.cartesian_prod(torch.arange(a.p), torch.arange(a.p))
    tasks = all_pairs[torch.randperm(a.p * a.p, generator=gen)[:a.tasks]]
    pairs = all_pairs[torch.randperm(a.p * a.p, generator=gen)[:int(round(0.8 * a.p * a.p))]]
    model = RopeDecoder(a.p + 18, a.layers, a.heads, a.width)
    decay = [q for q in model.parameters() if q.dim() >= 2]
    other = [q for q in model.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 2.0}, {"params": other, "weight_decay": 0.0}],
                            lr=1.5e-4, betas=(0.9, 0.98))
    z_pos = torch.arange(a.points) * 3 + 1
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        inputs, z = sample(tasks, pairs, a.batch, a.points, a.p, gen)
        opt.zero_grad()
        logits = model.hidden(inputs)[:, z_pos] @ model.wte.t()
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), z.reshape(-1))
        loss.backward()
        opt.step()
        loss.item()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    params = sum(q.numel() for q in model.parameters())
    print(f"python p={a.p} layers={a.layers} width={a.width} heads={a.heads} batch={a.batch} points={a.points} "
          f"threads={torch.get_num_threads()} params={params} median_ms={statistics.median(times):.2f} "
          f"min_ms={min(times):.2f} torch={torch.__version__}")


if __name__ == "__main__":
    main()

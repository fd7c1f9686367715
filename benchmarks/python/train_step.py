"""One training step of the same GPT-2 in Python PyTorch eager, for the Java/Python comparison.

Same architecture as dev.incontext.model.Gpt2Model (interleaved prompt tokens, linear read-in, learned
positions, pre-LN blocks with causal scaled_dot_product_attention and a 4x tanh-GELU MLP, final LayerNorm,
linear read-out), same sizes, batch, prompt length, Adam and thread count. Prints one line per preset:
  python preset=tiny threads=2 ... median_ms=...
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

# The MLP's activation: libtorch's tanh-GELU, or the project's gelu_tanh op with --gelu-op (an A/B of that op alone).
GELU = [lambda t: F.gelu(t, approximate="tanh")]
PRESETS = {"standard": (12, 8, 256), "small": (6, 4, 128), "tiny": (3, 2, 64)}


class Gpt2(torch.nn.Module):
    def __init__(self, layers, heads, width, dims, positions):
        super().__init__()
        self.heads, self.width = heads, width
        std, resid = 0.02, 0.02 / math.sqrt(2 * layers)
        p = lambda *shape, s=std: torch.nn.Parameter(torch.randn(*shape) * s)
        z = lambda *shape: torch.nn.Parameter(torch.zeros(*shape))
        o = lambda *shape: torch.nn.Parameter(torch.ones(*shape))
        u = lambda fan_in, *shape: torch.nn.Parameter((torch.rand(*shape) * 2 - 1) / math.sqrt(fan_in))
        self.read_in_w, self.read_in_b, self.wpe = u(dims, width, dims), u(dims, width), p(2 * positions, width)
        self.blocks = torch.nn.ParameterList()
        for _ in range(layers):
            self.blocks.extend([o(width), z(width), p(3 * width, width), z(3 * width), p(width, width, s=resid),
                                z(width), o(width), z(width), p(4 * width, width), z(4 * width),
                                p(width, 4 * width, s=resid), z(width)])
        self.ln_f_w, self.ln_f_b = o(width), z(width)
        self.read_out_w, self.read_out_b = u(width, 1, width), u(width, 1)

    def forward(self, xs, ys):
        b, n, d = xs.shape
        y_tok = torch.zeros_like(xs)
        y_tok[:, :, 0] = ys
        tokens = torch.stack((xs, y_tok), dim=2).reshape(b, 2 * n, d)
        length = 2 * n
        h = F.linear(tokens, self.read_in_w, self.read_in_b) + self.wpe[:length]
        hd = self.width // self.heads
        blocks = list(self.blocks)
        for i in range(0, len(blocks), 12):
            l1w, l1b, aw, ab, pw, pb, l2w, l2b, fw, fb, ow, ob = blocks[i:i + 12]
            a = F.layer_norm(h, (self.width,), l1w, l1b)
            q, k, v = F.linear(a, aw, ab).split(self.width, dim=2)
            q, k, v = (t.view(b, length, self.heads, hd).transpose(1, 2) for t in (q, k, v))
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + F.linear(att.transpose(1, 2).reshape(b, length, self.width), pw, pb)
            m = F.layer_norm(h, (self.width,), l2w, l2b)
            h = h + F.linear(GELU[0](F.linear(m, fw, fb)), ow, ob)
        h = F.layer_norm(h, (self.width,), self.ln_f_w, self.ln_f_b)
        return F.linear(h, self.read_out_w, self.read_out_b).squeeze(2)[:, ::2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny", choices=PRESETS)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--points", type=int, default=41)
    ap.add_argument("--dims", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", default="float32", choices=["float32", "bf16"],
                    help="bf16: the forward pass under torch.autocast('cpu', bfloat16), loss in float32")
    ap.add_argument("--gelu-op", metavar="LIBRARY",
                    help="use the project's gelu_tanh op from this library (build/native/libincontext_ops.so)")
    a = ap.parse_args()
    if a.gelu_op:
        torch.ops.load_library(a.gelu_op)
        GELU[0] = torch.ops.incontext.gelu_tanh
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    layers, heads, width = PRESETS[a.preset]
    model = Gpt2(layers, heads, width, a.dims, a.points)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        xs = torch.randn(a.batch, a.points, a.dims)
        w = torch.randn(a.batch, a.dims, 1)
        ys = (xs @ w).squeeze(2)
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            pred = model(xs, ys)
        loss = F.mse_loss(pred.float(), ys)
        loss.backward()
        opt.step()
        loss.item()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    params = sum(p.numel() for p in model.parameters())
    gelu = "incontext" if a.gelu_op else "torch"
    print(f"python preset={a.preset} precision={a.precision} gelu={gelu} threads={torch.get_num_threads()} "
          f"batch={a.batch} "
          f"points={a.points} "
          f"dims={a.dims} params={params} median_ms={statistics.median(times):.2f} min_ms={min(times):.2f} "
          f"torch={torch.__version__}")


if __name__ == "__main__":
    main()

"""Compares torch.ops.incontext.attention with every SDPA backend from Python, on the GPU (optional step of
run_gpu.sh). Checks the op against a float64 reference first, then prints a markdown table of forward and
forward+backward median times (CUDA events) per shape, dtype and implementation.

    python3 compare_sdpa.py path/to/libincontext_ops.so
"""
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

SHAPES = [(64, 8, 82, 32), (64, 8, 202, 32), (64, 4, 82, 64), (1280, 8, 82, 32)]
BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH]


def median_ms(fn, reps=100):
    for _ in range(10):
        fn()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def fwd_bwd(f, q, k, v, g):
    def run():
        qq, kk, vv = (t.detach().requires_grad_(True) for t in (q, k, v))
        torch.autograd.grad(f(qq, kk, vv), (qq, kk, vv), g)
    return run


def main():
    torch.ops.load_library(sys.argv[1])
    ours = lambda q, k, v: torch.ops.incontext.attention(q, k, v, True)
    torch.manual_seed(0)
    q = torch.randn(2, 3, 97, 32, device="cuda", dtype=torch.float64)
    k, v = torch.randn_like(q), torch.randn_like(q)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    err = (ours(q.float(), k.float(), v.float()).double() - ref).abs().max() / ref.abs().max()
    print(f"check: float32 op vs float64 SDPA, relative error {err:.2e} (expected below 1e-5)")
    print(f"device {torch.cuda.get_device_name()}, torch {torch.__version__}\n")
    print("| shape | dtype | implementation | fwd ms | fwd+bwd ms | fwd ratio | fwd+bwd ratio |")
    print("|---|---|---|---:|---:|---:|---:|")
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        for shape in SHAPES:
            q = torch.randn(*shape, device="cuda", dtype=dtype)
            k, v, g = torch.randn_like(q), torch.randn_like(q), torch.randn_like(q)
            rows = [("incontext", median_ms(lambda: ours(q, k, v)), median_ms(fwd_bwd(ours, q, k, v, g)))]
            for be in BACKENDS:
                sdpa = lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True)
                try:
                    with sdpa_kernel([be]):
                        rows.append((be.name, median_ms(lambda: sdpa(q, k, v)), median_ms(fwd_bwd(sdpa, q, k, v, g))))
                except RuntimeError as e:
                    rows.append((f"{be.name} (n/a: {str(e).splitlines()[0][:60]})", float("nan"), float("nan")))
            for name, f, fb in rows:
                print(f"| {shape} | {str(dtype)[6:]} | {name} | {f:.4f} | {fb:.4f} | {f / rows[0][1]:.2f}x | {fb / rows[0][2]:.2f}x |")


if __name__ == "__main__":
    main()

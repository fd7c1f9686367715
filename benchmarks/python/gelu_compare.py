"""The project's gelu_tanh op against libtorch's gelu(x, approximate="tanh"), forward and forward+backward, in one run.

Loads the op library the CMake build made (torch.ops.load_library) into the torch wheel of benchmarks/lib/bench_env.sh
(the same libtorch version as the JavaCPP preset) and times both on the GPT-2 MLP's activation shape of the small
preset (batch 64 x 82 tokens, 4 x 128 wide). Prints a markdown table; ratio = libtorch / ours (above 1: ours faster).
  build/bench-venv/bin/python benchmarks/python/gelu_compare.py build/native/libincontext_ops.so [--threads 1 2]
"""
import argparse
import statistics
import time

import torch


def median_ms(f, reps):
    for _ in range(3):
        f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("library")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--shape", type=int, nargs="+", default=[64 * 82, 512])
    ap.add_argument("--reps", type=int, default=30)
    a = ap.parse_args()
    torch.ops.load_library(a.library)
    x = torch.randn(*a.shape)
    dy = torch.randn_like(x)
    xr = x.clone().requires_grad_(True)
    ours = torch.ops.incontext.gelu_tanh
    theirs = lambda t: torch.nn.functional.gelu(t, approximate="tanh")

    def fwd_bwd(g):
        def f():
            g(xr).backward(dy)
            xr.grad = None
        return f

    print(f"shape {tuple(a.shape)}, float32, median of {a.reps}")
    print()
    print("| threads | pass | libtorch ms | ours ms | libtorch / ours |")
    print("|---|---|---:|---:|---:|")
    for th in a.threads:
        torch.set_num_threads(th)
        for name, mk in (("forward", lambda g: (lambda: g(x))), ("forward+backward", fwd_bwd)):
            t_lib, t_ours = median_ms(mk(theirs), a.reps), median_ms(mk(ours), a.reps)
            print(f"| {th} | {name} | {t_lib:.3f} | {t_ours:.3f} | {t_lib / t_ours:.2f}x |")


if __name__ == "__main__":
    main()

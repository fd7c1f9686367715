#!/usr/bin/env bash
# Training-step time of he-modular's RoPE decoder from Java (this project) and from Python PyTorch eager, same
# libtorch version (the torch 2.13.0+cpu wheel), same threads, in one run: the CPU default (p = 11, depth 2, width
# 64, 64 rows of 12 examples) and the paper's model (p = 29, depth 4, width 512, 4 heads, rows of 32 examples) on
# PAPER_BATCH rows (default 16: the paper's 1024 rows take minutes per step on a small CPU).
# Prints a markdown table with the ratio Java / Python (below 1 means Java is faster).
# Environment: THREADS (default: nproc), STEPS (default 10), PAPER_BATCH, OPENBLAS_NUM_THREADS (default: THREADS).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/benchmarks/lib/bench_env.sh"
steps="${STEPS:-10}"
paper_batch="${PAPER_BATCH:-16}"
bench_step_setup
echo
echo "| model | Java attention | Java ms/step | Python ms/step | Java / Python |"
echo "|---|---|---|---|---|"
run() {   # name, python args, java args
  pyms=$("$py" "$root/benchmarks/python/modular_step.py" $2 --threads "$threads" --steps "$steps" | median_ms)
  for att in incontext sdpa; do
    jv=$("$root/incontext" bench-modular $3 --steps "$steps" training.threads="$threads" model.attention="$att" \
         2>/dev/null | median_ms)
    echo "| $1 | $att | $jv | $pyms | $(python3 -c "print(f'{$jv / $pyms:.2f}')") |"
  done
}
run "cpu default (p 11, 2 x 64, 64 rows x 12)" "--p 11 --layers 2 --heads 4 --width 64 --batch 64 --points 12 --tasks 32" \
    "--preset cpu"
run "paper (p 29, 4 x 512, $paper_batch rows x 32)" "--p 29 --layers 4 --heads 4 --width 512 --batch $paper_batch --points 32 --tasks 256" \
    "--preset paper training.batch_size=$paper_batch"

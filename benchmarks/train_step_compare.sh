#!/usr/bin/env bash
# Training-step time of the same GPT-2 from Java (this project) and from Python PyTorch eager, same libtorch
# version (the torch 2.13.0+cpu wheel), same threads, same batch (64 x 41 points, d = 20), in one run.
# Prints the machine and what each side runs on (BLAS, instruction sets, measured peaks), then a markdown table
# with the ratio Java / Python (below 1 means Java is faster). Each cell is the median over ROUNDS alternating
# runs of each side's median step time, so that a drift of the machine's speed hits both sides alike.
#   benchmarks/train_step_compare.sh [presets...]      (default: tiny small standard)
# Environment: THREADS (default: nproc), STEPS (default 20), ROUNDS (default 3), INCONTEXT_BLAS (mkl | openblas).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/benchmarks/lib/bench_env.sh"
presets=("$@")
[ $# -gt 0 ] || presets=(tiny small standard)
steps="${STEPS:-20}"
rounds="${ROUNDS:-3}"
bench_step_setup
# Java runs with the launcher's defaults (freed memory kept in the heap: dev.incontext.ops.Memory) and once with
# INCONTEXT_MALLOC=system; Python as installed and once with glibc's mmap and trim thresholds set as Java's default
# sets them (`tuned` below; Java's top pad only matters in secondary arenas, and Python's step runs in the main one),
# so that the table separates the allocator from the rest of the step.
tuned="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647"
echo "- Java malloc: retain (the default) unless the row says system; Python tuned: GLIBC_TUNABLES=$tuned"
echo
echo "| preset | Java attention | Java malloc | Java ms/step | Python ms/step | Java / Python | Python tuned ms/step | Java / Python tuned |"
echo "|---|---|---|---|---|---|---|---|"
variants=("incontext retain" "sdpa retain" "incontext system")
for p in "${presets[@]}"; do
  declare -A jv=()
  pys=(); pyt=()
  for r in $(seq "$rounds"); do
    pys+=("$("$py" "$root/benchmarks/python/train_step.py" --preset "$p" --threads "$threads" --steps "$steps" | median_ms)")
    pyt+=("$(GLIBC_TUNABLES="$tuned" "$py" "$root/benchmarks/python/train_step.py" --preset "$p" --threads "$threads" \
             --steps "$steps" | median_ms)")
    for v in "${variants[@]}"; do
      set -- $v
      jv[$v]+=" $(INCONTEXT_MALLOC="$2" "$root/incontext" bench-train --preset "$p" --attention "$1" \
                   --threads "$threads" --steps "$steps" 2>/dev/null | median_ms)"
    done
  done
  pym=$(median "${pys[@]}")
  ptm=$(median "${pyt[@]}")
  for v in "${variants[@]}"; do
    set -- $v
    j=$(median ${jv[$v]})
    echo "| $p | $1 | $2 | $j | $pym | $(python3 -c "print(f'{$j / $pym:.2f}')") | $ptm | $(python3 -c "print(f'{$j / $ptm:.2f}')") |"
  done
  unset jv
done

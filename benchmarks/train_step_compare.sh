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
threads="${THREADS:-$(nproc)}"
steps="${STEPS:-20}"
rounds="${ROUNDS:-3}"
export OMP_WAIT_POLICY=PASSIVE
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-$threads}"
py="$(bench_venv)"
"$root/incontext" --version >/dev/null   # builds the CLI if needed
bench_header "$threads"
echo
echo "| preset | Java attention | Java ms/step | Python ms/step | Java / Python |"
echo "|---|---|---|---|---|"
median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }
for p in "${presets[@]}"; do
  declare -A jv=()
  pys=()
  for r in $(seq "$rounds"); do
    pys+=("$("$py" "$root/benchmarks/python/train_step.py" --preset "$p" --threads "$threads" --steps "$steps"              | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')")
    for att in incontext sdpa; do
      jv[$att]+=" $("$root/incontext" bench-train --preset "$p" --attention "$att" --threads "$threads" \
                     --steps "$steps" 2>/dev/null | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')"
    done
  done
  pym=$(median "${pys[@]}")
  for att in incontext sdpa; do
    j=$(median ${jv[$att]})
    echo "| $p | $att | $j | $pym | $(python3 -c "print(f'{$j / $pym:.2f}')") |"
  done
  unset jv
done

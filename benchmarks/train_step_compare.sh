#!/usr/bin/env bash
# Training-step time of the same GPT-2 from Java (this project) and from Python PyTorch eager, same libtorch
# version (the torch 2.13.0+cpu wheel), same threads, same batch (64 x 41 points, d = 20), in one run.
# Prints a markdown table with the ratio Java / Python (below 1 means Java is faster).
#   benchmarks/train_step_compare.sh [presets...]      (default: tiny small standard)
# Environment: THREADS (default: nproc), STEPS (default 20), OPENBLAS_NUM_THREADS (default: THREADS).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
presets=("${@:-tiny small standard}")
[ $# -gt 0 ] || presets=(tiny small standard)
threads="${THREADS:-$(nproc)}"
steps="${STEPS:-20}"
export OMP_WAIT_POLICY=PASSIVE
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-$threads}"
venv="$root/build/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  PIP_RETRIES="${PIP_RETRIES:-0}" "$venv/bin/python" -m pip install -q --disable-pip-version-check "torch==2.13.0+cpu" numpy
fi
"$root/incontext" --version >/dev/null   # builds the CLI if needed
echo "| preset | attention | Java ms/step | Python ms/step | Java / Python |"
echo "|---|---|---|---|---|"
for p in "${presets[@]}"; do
  py=$("$venv/bin/python" "$root/benchmarks/python/train_step.py" --preset "$p" --threads "$threads" --steps "$steps" \
       | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
  for att in incontext sdpa; do
    jv=$("$root/incontext" bench-train --preset "$p" --attention "$att" --threads "$threads" --steps "$steps" 2>/dev/null \
         | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
    ratio=$(python3 -c "print(f'{$jv / $py:.2f}')")
    echo "| $p | $att | $jv | $py | $ratio |"
  done
done

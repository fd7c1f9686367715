#!/usr/bin/env bash
# Builds the native core against the Python PyTorch of this machine (CUDA), runs the native tests (the CUDA
# attention tests run only here) and the attention benchmark, and optionally compares the op with every SDPA
# backend from Python. For a GPU machine with nvcc and a CUDA PyTorch in python3; no Java or Maven needed.
#   benchmarks/native/run_gpu.sh [build-dir]        (default build/gpu)
# Output: the test log and the benchmark tables on stdout, also under <build-dir>/results/.
set -euo pipefail
export OMP_WAIT_POLICY=PASSIVE
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/gpu}"
mkdir -p "$build/results"
prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
cmake -S "$root" -B "$build" -DINCONTEXT_TORCH_PACKAGE=ON -DCMAKE_PREFIX_PATH="$prefix" -DINCONTEXT_CUDA=ON \
  -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure 2>&1 | tee "$build/results/ctest.log"
{
  echo "device: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); date: $(date -u +%F); commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  for dt in float bfloat16 half; do
    for causal in 1 0; do
      "$build/bench_attention" --device cuda --dtype "$dt" --causal "$causal" --reps 100
      echo
    done
  done
} 2>&1 | tee "$build/results/attention-gpu.md"
lib="$(find "$build" -maxdepth 1 -name 'libincontext_ops.so' | head -1)"
python3 "$root/benchmarks/native/compare_sdpa.py" "$lib" 2>&1 | tee "$build/results/attention-gpu-python.md" || \
  echo "compare_sdpa.py failed (optional step)"

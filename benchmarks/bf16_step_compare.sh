#!/usr/bin/env bash
# bf16 mixed precision against float32, Java and Python, in one run: the training step of the same GPT-2 (batch 64 x
# 41 points, d = 20) from Java (`bench-train --precision`) and from Python PyTorch eager (the forward pass under
# torch.autocast("cpu", bfloat16), as `training.precision: bf16` runs it), same libtorch version and threads.
# Each cell is the median over ROUNDS alternating runs of each side's median step time. Columns: each side's float32
# and bf16 ms/step, the bf16 speed-up (float32 / bf16, goal >= 1.5 at small and standard), and Java bf16 / Python bf16
# (goal <= 1).
#   benchmarks/bf16_step_compare.sh [presets...]      (default: small standard)
# Environment: THREADS (default: nproc), STEPS (default 10), ROUNDS (default 3), INCONTEXT_BLAS (mkl | openblas).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/benchmarks/lib/bench_env.sh"
presets=("$@")
[ $# -gt 0 ] || presets=(small standard)
steps="${STEPS:-10}"
rounds="${ROUNDS:-3}"
bench_step_setup
echo
echo "| preset | Java float32 | Java bf16 | Java speed-up | Python float32 | Python bf16 | Python speed-up | Java bf16 / Python bf16 |"
echo "|---|---|---|---|---|---|---|---|"
for p in "${presets[@]}"; do
  declare -A v=()
  for r in $(seq "$rounds"); do
    for prec in float32 bf16; do
      v[py_$prec]+=" $("$py" "$root/benchmarks/python/train_step.py" --preset "$p" --threads "$threads" \
                        --steps "$steps" --precision "$prec" | median_ms)"
      out="$("$root/incontext" bench-train --preset "$p" --threads "$threads" --steps "$steps" --precision "$prec" \
               2>/dev/null)"
      if [ "$prec" = bf16 ] && ! grep -q 'precision=bf16' <<<"$out"; then
        echo "bf16_step_compare: the Java step ran float32 (no hardware bfloat16 on this CPU?): $out" >&2
        exit 1
      fi
      v[java_$prec]+=" $(median_ms <<<"$out")"
    done
  done
  jf=$(median ${v[java_float32]}); jb=$(median ${v[java_bf16]})
  pf=$(median ${v[py_float32]}); pb=$(median ${v[py_bf16]})
  r() { python3 -c "print(f'{$1 / $2:.2f}')"; }
  echo "| $p | $jf | $jb | $(r "$jf" "$jb")x | $pf | $pb | $(r "$pf" "$pb")x | $(r "$jb" "$pb") |"
  unset v
done

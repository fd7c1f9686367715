#!/usr/bin/env bash
# The training step of every workload the project ships a default for (the demo and each experiment's CPU default
# config) under each BLAS and thread count the launcher can pick: MKL or OpenBLAS (INCONTEXT_BLAS), 1 thread or
# the core count (training.threads, with the BLAS at the same count). Each cell is a real `./incontext train` of the
# shipped config; its rate is the steps/s the trainer logs over the second half of the run (the first half warms
# up). Every workload's default (a run with the launcher's environment as it is: MKL, the config's own thread count,
# 0 meaning the cores) is compared with the best rate measured for it in the same run; more than 10% slower is flagged. Run it on a quiet machine.
#   benchmarks/workloads.sh [STEPS]        (default 400; a slow workload takes about a minute a setting)
#   WORKLOADS="demo zhang_lsa" benchmarks/workloads.sh      (a subset)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps="${1:-400}"
if ! [[ "$steps" =~ ^[0-9]+$ ]] || [ "$steps" -lt 20 ]; then
  echo "workloads.sh: STEPS must be a whole number >= 20, got '$steps'" >&2
  exit 2
fi
cores="$(nproc)"
workloads=(${WORKLOADS:-demo zhang_lsa von_oswald_gd garg_regression akyurek_algorithms raventos_diversity he_modular_cpu})
threads_options=(1)
[ "$cores" -gt 1 ] && threads_options+=("$cores")
export OMP_WAIT_POLICY=PASSIVE
unset INCONTEXT_BLAS OPENBLAS_NUM_THREADS   # the default runs get the launcher's own choices
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$root/incontext" --version >/dev/null   # builds once, before anything is timed

# Steps/s over the second half: the last logged interval (the trainer logs rates over each interval).
# rate NAME CONFIG [ENV=VALUE ...] -- [OVERRIDE ...]
rate() {
  local dir="$tmp/$1" config="$2" envs=()
  shift 2
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$root/incontext" train --config "$config" training.steps="$steps" \
    training.log_every=$((steps / 2)) training.save_every=0 "$@" out_dir="$dir" >"$dir.log" 2>&1 || {
    echo "workloads.sh: $dir failed; its output:" >&2; tail -5 "$dir.log" >&2; exit 1; }
  python3 - "$dir/metrics.jsonl" <<'PY'
import json, sys
rates = [r["steps_per_s"] for r in map(json.loads, open(sys.argv[1])) if "steps_per_s" in r]
print(f"{rates[-1]:.2f}")
PY
}

echo "# Training-step throughput of every shipped workload under each BLAS and thread setting"
echo
echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $cores cores; flags: $(grep -o -w -E 'avx512f|avx512_bf16|avx2|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "- date: $(date -u +%Y-%m-%d); commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with local changes)')"
echo "- command: \`benchmarks/workloads.sh $steps\` ($steps steps of each shipped config, rate over the last $((steps / 2)); OMP_WAIT_POLICY=PASSIVE; BLAS threads = torch threads)"
echo
header="| workload | default: setting, steps/s |"
rule="|---|---|"
for b in mkl openblas; do for t in "${threads_options[@]}"; do header="$header $b, $t thr |"; rule="$rule---|"; done; done
echo "$header default / best | verdict |"
echo "$rule---|---|"
flagged=0
for w in "${workloads[@]}"; do
  declare -A r=()
  best=0
  bestname=""
  for b in mkl openblas; do
    for t in "${threads_options[@]}"; do
      r["$b-$t"]="$(rate "$w-$b-$t" "$w" INCONTEXT_BLAS="$b" OPENBLAS_NUM_THREADS="$t" -- training.threads="$t")"
      if python3 -c "import sys; sys.exit(0 if float('${r[$b-$t]}') > float('$best') else 1)"; then
        best="${r[$b-$t]}"; bestname="$b, $t thr"
      fi
    done
  done
  # The default as a user gets it: the launcher's environment, the config's own threads (0: the cores).
  default="$(rate "$w-default" "$w" X=1 --)"
  dt="$(sed -n '/^training:/,/^[^ ]/s/^  threads: *\([0-9]*\).*/\1/p' "$tmp/$w-default/config.yaml" | head -1)"
  { [ -z "$dt" ] || [ "$dt" = 0 ]; } && dt="$cores"
  if python3 -c "import sys; sys.exit(0 if float('$default') > float('$best') else 1)"; then
    best="$default"; bestname="the default"
  fi
  row="| $w | mkl, $dt thr: $default |"
  for b in mkl openblas; do for t in "${threads_options[@]}"; do row="$row ${r[$b-$t]} |"; done; done
  ratio="$(python3 -c "print(f'{float(\"$default\") / float(\"$best\"):.2f}')")"
  if python3 -c "import sys; sys.exit(0 if float('$ratio') >= 0.90 else 1)"; then
    verdict="ok (best: $bestname)"
  else
    verdict="**more than 10% slower** (best: $bestname)"
    flagged=$((flagged + 1))
  fi
  echo "$row $ratio | $verdict |"
  unset r
done
echo
echo "Rates in training steps per second. $flagged of ${#workloads[@]} defaults more than 10% slower than the best setting."

#!/usr/bin/env bash
# The training step of every workload the project ships a default for (the demo and each experiment's CPU default
# config) under each BLAS and thread setting the launcher can pick: MKL or OpenBLAS (INCONTEXT_BLAS) x torch threads
# (training.threads) 1 or the cores x BLAS threads (training.blas_threads) 1 or the cores, the BLAS never given
# fewer threads than torch. Each cell is a real `./incontext train` of the shipped config; its rate is the steps/s
# the trainer logs over the second half of the run (the first half warms up), with enough steps for that half to
# last about SECONDS (calibrated per workload by a short run of its default). Every workload's default (a run with
# the launcher's environment as it is: MKL, the config's own threads) is compared with the best rate measured for
# it in the same run; more than 10% slower is flagged. Every cell is the best of ROUNDS runs (default 2), the rounds
# interleaved (each round runs the default and every setting once), since a shared machine only ever slows a run
# down: a single 8 s window here scattered by up to 20% between identical settings. Run it on a quiet machine.
# The experiments that train a grid of cells (GRID_WORKLOADS) run as many cells side by side as a cell's threads
# leave cores for (two 1/1 cells on 2 cores), so the verdict compares their throughput in cells' steps per second:
# a setting's rate times cores / max(torch, BLAS threads); a single run's throughput is its rate. Each setting is
# timed alone, so cells side by side are assumed not to slow each other (they share memory bandwidth and caches):
# that favours the 1/1 settings by what the sharing costs, which this script does not measure.
#   benchmarks/workloads.sh [SECONDS]          (default 8: about 30 minutes for the 7 workloads on 2 cores)
#   ROUNDS=3 benchmarks/workloads.sh
#   WORKLOADS="demo zhang_lsa" benchmarks/workloads.sh      (a subset)
#   INCONTEXT=path/to/incontext benchmarks/workloads.sh     (another build's launcher)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-8}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "workloads.sh: SECONDS must be a whole number >= 1, got '$seconds'" >&2
  exit 2
fi
launcher="${INCONTEXT:-$root/incontext}"
rounds="${ROUNDS:-2}"
if ! [[ "$rounds" =~ ^[0-9]+$ ]] || [ "$rounds" -lt 1 ]; then
  echo "workloads.sh: ROUNDS must be a whole number >= 1, got '$rounds'" >&2
  exit 2
fi
cores="$(nproc)"
grid_workloads=" ${GRID_WORKLOADS:-garg_regression akyurek_algorithms raventos_diversity he_modular_cpu} "
workloads=(${WORKLOADS:-demo zhang_lsa von_oswald_gd garg_regression akyurek_algorithms raventos_diversity he_modular_cpu})
# torch threads / BLAS threads
settings=("1/1")
[ "$cores" -gt 1 ] && settings+=("1/$cores" "$cores/$cores")
export OMP_WAIT_POLICY=PASSIVE
unset INCONTEXT_BLAS OPENBLAS_NUM_THREADS   # the default runs get the launcher's own choices
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$launcher" --version >/dev/null   # builds once, before anything is timed

# Steps/s over the second half: the last logged interval (the trainer logs rates over each interval).
# rate NAME CONFIG STEPS [ENV=VALUE ...] -- [OVERRIDE ...]
rate() {
  local dir="$tmp/$1" config="$2" steps="$3" envs=()
  shift 3
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$launcher" train --overwrite --config "$config" training.steps="$steps" \
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
echo "- date: $(date -u +%Y-%m-%d); commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- java/src/main native CMakeLists.txt pom.xml java/pom.xml sweep || echo ' (with local changes to the sources)')"
echo "- command: \`ROUNDS=$rounds benchmarks/workloads.sh $seconds\` (each shipped config for about 2 x $seconds s a setting, the rate over the second half, best of $rounds interleaved rounds; OMP_WAIT_POLICY=PASSIVE); settings are BLAS, torch threads / BLAS threads"
echo
header="| workload | default: setting, steps/s |"
rule="|---|---|"
for b in mkl openblas; do for t in "${settings[@]}"; do header="$header $b $t |"; rule="$rule---|"; done; done
echo "$header default / best (throughput) | verdict |"
echo "$rule---|---|"
# Throughput of a setting: a grid (single=0) runs cores / max(torch, BLAS threads) cells side by side; a single run,
# one.   throughput RATE TORCH BLAS
throughput() {
  python3 -c "print(float('$1') * (1 if $single else max(1, $cores // max($2, $3))))"
}
flagged=0
for w in "${workloads[@]}"; do
  declare -A r=()
  # Calibrate: the default's rate over a short run sets the steps of every setting (at least 100).
  probe="$(rate "$w-probe" "$w" 100 X=1 --)"
  steps="$(python3 -c "import math; print(max(100, 2 * math.ceil($seconds * float('$probe'))))")"
  # ROUNDS interleaved rounds; each cell keeps its best rate.
  for ((k = 1; k <= rounds; k++)); do
    for b in mkl openblas; do
      for s in "${settings[@]}"; do
        tt="${s%/*}"; bt="${s#*/}"
        v="$(rate "$w-$b-$tt-$bt" "$w" "$steps" INCONTEXT_BLAS="$b" OPENBLAS_NUM_THREADS="$bt" -- \
          training.threads="$tt" training.blas_threads="$bt")"
        r["$b-$s"]="$(python3 -c "print(max(float('${r[$b-$s]:-0}'), float('$v')))")"
      done
    done
    # The default as a user gets it: the launcher's environment, the config's own threads (0: the cores).
    v="$(rate "$w-default" "$w" "$steps" X=1 --)"
    r[default]="$(python3 -c "print(max(float('${r[default]:-0}'), float('$v')))")"
  done
  default="${r[default]}"
  dt="$(sed -n '/^training:/,/^[^ ]/s/^  threads: *\([0-9]*\).*/\1/p' "$tmp/$w-default/config.yaml" | head -1)"
  db="$(sed -n '/^training:/,/^[^ ]/s/^  blas_threads: *\([0-9]*\).*/\1/p' "$tmp/$w-default/config.yaml" | head -1)"
  dbl="$(sed -n '/^training:/,/^[^ ]/s/^  blas: *\([a-z]*\).*/\1/p' "$tmp/$w-default/config.yaml" | head -1)"
  [ "$dbl" = openblas ] || dbl=mkl   # auto: the launcher's MKL
  { [ -z "$dt" ] || [ "$dt" = 0 ]; } && dt="$cores"
  # blas_threads 0: MKL follows torch's count; OpenBLAS keeps the launcher's OPENBLAS_NUM_THREADS (the cores)
  if [ -z "$db" ] || [ "$db" = 0 ]; then [ "$dbl" = openblas ] && db="$cores" || db="$dt"; fi
  single=1
  [[ "$grid_workloads" == *" $w "* ]] && single=0
  dtp="$(throughput "$default" "$dt" "$db")"
  best="$dtp"; bestname="the default"
  for b in mkl openblas; do
    for s in "${settings[@]}"; do
      tp="$(throughput "${r[$b-$s]}" "${s%/*}" "${s#*/}")"
      if python3 -c "import sys; sys.exit(0 if float('$tp') > float('$best') else 1)"; then
        best="$tp"; bestname="$b $s"
      fi
    done
  done
  row="| $w ($steps steps) | $dbl $dt/$db: $default |"
  for b in mkl openblas; do for s in "${settings[@]}"; do row="$row ${r[$b-$s]} |"; done; done
  ratio="$(python3 -c "print(f'{float(\"$dtp\") / float(\"$best\"):.2f}')")"
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
echo "Rates in training steps per second of one run. Throughput (the ratio column): the rate, times cores / max(torch, BLAS threads) for the grid experiments ($(echo $grid_workloads)), whose cells run side by side. $flagged of ${#workloads[@]} defaults more than 10% below the best setting's throughput."

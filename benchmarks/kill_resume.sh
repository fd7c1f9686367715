#!/usr/bin/env bash
# Crash safety, measured: trains a tiny run, kills it with SIGKILL at a random moment of its training, resumes it (from its newest
# checkpoint, or afresh when the kill came before the first one), and compares the finished run's metrics.jsonl,
# record by record without the timing field, with an uninterrupted run of the same config. Repeats TRIALS times
# (default 20) and prints one line per trial and a summary; exits 1 if any trial differs.
#   benchmarks/kill_resume.sh [trials] [work dir]        (builds ./incontext first if needed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trials="${1:-20}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
export OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1
"$root/incontext" --version >/dev/null

# One thread per pool: on one machine the losses repeat bit for bit (same seed, same threads).
cfg=(--config demo model.preset=custom model.n_layer=2 model.n_head=2 model.n_embd=32 training.steps=800
     training.save_every=25 training.log_every=5 training.batch_size=32 training.threads=1 training.blas_threads=1
     seed=7)

records() {   # metrics.jsonl without steps_per_s, one canonical line per record
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); r.pop("steps_per_s", None); print(json.dumps(r, sort_keys=True))' "$1"
}

echo "# kill -9 at random moments, then resume: $trials trials"
echo "# $(lscpu | grep 'Model name' | sed 's/  */ /g'); $(date -u +%Y-%m-%d); commit $(git -C "$root" rev-parse --short HEAD)"
ref="$work/reference"
rm -rf "$ref"
# Times the training itself (from its first metrics record to the end): the kills are spread over that span, so
# that every trial interrupts training, not the JVM's start.
"$root/incontext" train "${cfg[@]}" out_dir="$ref" > "$work/reference.log" 2>&1 &
pid=$!
until [ -s "$ref/metrics.jsonl" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
t0=$(date +%s.%N)
wait "$pid"
t1=$(date +%s.%N)
span=$(echo "$t1 - $t0" | bc)
records "$ref/metrics.jsonl" > "$work/reference.records"
echo "# uninterrupted run: $(wc -l < "$work/reference.records") records; training took ${span} s after its first record"
echo "| trial | killed after (s of training) | newest checkpoint then | resumed from | equal to uninterrupted |"
echo "|---:|---:|---|---|---|"
same=0
for i in $(seq 1 "$trials"); do
  run="$work/trial-$i"
  rm -rf "$run"
  # Uniform over the training's span, counted from its first metrics record.
  delay=$(python3 -c "import random; print(round(random.uniform(0, $span), 2))")
  "$root/incontext" train "${cfg[@]}" out_dir="$run" > "$run.log" 2>&1 &
  pid=$!
  until [ -s "$run/metrics.jsonl" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
  sleep "$delay"
  # The launcher execs java, so $pid is the JVM itself.
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  newest=$(ls -d "$run"/checkpoints/step-* 2>/dev/null | sort | tail -1 | xargs -r basename || true)
  if [ "$newest" = "step-00000800" ]; then
    from="nothing left (it had finished)"
  elif [ -n "$newest" ]; then
    from="$newest"
    "$root/incontext" train "${cfg[@]}" out_dir="$run" --resume "$run" >> "$run.log" 2>&1 || from="$from: resume FAILED"
  else
    from="afresh"
    "$root/incontext" train "${cfg[@]}" out_dir="$run" --overwrite >> "$run.log" 2>&1 || from="afresh: FAILED"
  fi
  if records "$run/metrics.jsonl" | cmp -s - "$work/reference.records"; then
    verdict=yes; same=$((same + 1))
  else
    verdict=NO
  fi
  echo "| $i | $delay | ${newest:-none} | $from | $verdict |"
done
echo
echo "$same of $trials trials resumed to the uninterrupted run's metrics"
[ "$same" -eq "$trials" ]

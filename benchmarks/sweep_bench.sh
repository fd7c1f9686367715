#!/usr/bin/env bash
# Wall time of a 16-cell grid of tiny runs (4 learning rates x 4 seeds; 1 layer, width 16, 200 steps, evaluated on
# 64 prompts): serial in one JVM, embedded Spark local[2], and a standalone Spark cluster on 127.0.0.1 (a Master and a
# Worker started here from the Maven class path, two executor JVMs of one core each). Prints one line per mode.
#   benchmarks/sweep_bench.sh [work dir]        (builds ./incontext first if needed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
export OMP_WAIT_POLICY=PASSIVE
"$root/incontext" --version >/dev/null

grid=(--config demo model.preset=custom model.n_layer=1 model.n_head=2 model.n_embd=16 training.steps=200
      training.save_every=100 training.batch_size=16 eval.num_prompts=64
      training.learning_rate=0.001,0.002,0.003,0.004 seed=0,1,2,3)

summary() {   # mode, wall seconds, concurrent cells, results.csv
  awk -F, -v mode="$1" -v wall="$2" -v p="$3" 'NR > 1 { s += $(NF - 1); n++ }
    END { printf "%-22s cells %d  wall %6.1f s  sum of cell times %6.1f s  overhead per cell %.2f s\n",
          mode, n, wall, s, (wall - s / p) / n }' "$4"
}

run() {   # label, concurrent cells, out dir, extra args...
  local label="$1" p="$2" out="$3"; shift 3
  rm -rf "$out"
  local t0 t1
  t0=$(date +%s.%N)
  "$root/incontext" sweep "${grid[@]}" --out "$out" "$@" > "$out.log" 2>&1
  t1=$(date +%s.%N)
  summary "$label" "$(echo "$t1 - $t0" | bc)" "$p" "$out/results.csv"
}

run "serial (1 JVM)" 1 "$work/serial" --master serial
run "local[2]" 2 "$work/local2" --master 'local[2]'

# Standalone: Master + Worker JVMs on the class path ./incontext uses; SPARK_HOME only needs an (empty) jars/ folder.
flags=(-XX:+IgnoreUnrecognizedVMOptions)
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
         java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  flags+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
cp="$root/sweep/target/incontext-sweep.jar:$root/sweep/target/lib/*"
mkdir -p "$work/spark-home/jars" "$work/spark-work"
port=$((20000 + RANDOM % 20000))
export SPARK_HOME="$work/spark-home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1
java "${flags[@]}" -Xmx256m -cp "$cp" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" \
  --webui-port $((port + 1)) > "$work/master.log" 2>&1 &
master=$!
java "${flags[@]}" -Xmx256m -cp "$cp" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 2 --memory 2g \
  --work-dir "$work/spark-work" --webui-port $((port + 2)) "spark://127.0.0.1:$port" > "$work/worker.log" 2>&1 &
worker=$!
trap 'kill $worker $master 2>/dev/null || true' EXIT
sleep 5
run "standalone (2 executors)" 2 "$work/standalone" --master "spark://127.0.0.1:$port" --conf spark.executor.cores=1 \
  --conf spark.cores.max=2 --conf spark.executor.memory=512m --conf spark.driver.host=127.0.0.1 \
  --conf spark.driver.bindAddress=127.0.0.1

# Shared set-up of the side-by-side benchmark scripts (sourced, not run): the Python venv with the torch wheel of
# the same libtorch version as the JavaCPP preset, and a header naming the machine and what each side runs on.
#   bench_venv            -> prints the venv's python, creating the venv on first use
#   bench_header THREADS  -> prints the CPU model, date, commit, and per side: libtorch CPU capability, BLAS,
#                            attention ISA (Java), plus the measured float32 matmul and copy peaks
#   bench_step_setup      -> the Java/Python step comparisons' start: sets threads (THREADS, default nproc) and py
#                            (the venv's python), exports OMP_WAIT_POLICY=PASSIVE and OPENBLAS_NUM_THREADS (default
#                            threads), builds the CLI if needed and prints the header
#   median X...           -> the median of the numbers, two decimals
#   median_ms             -> filter: the median_ms=... value of a benchmark's result line
bench_venv() {
  local venv="$root/build/bench-venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    PIP_RETRIES="${PIP_RETRIES:-0}" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      "torch==2.13.0+cpu" numpy >&2
  fi
  echo "$venv/bin/python"
}

bench_header() {
  local threads="$1" py
  py="$(bench_venv)"
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; flags: $(grep -o -w -E 'avx512f|avx2|avx512_bf16|amx_tile|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "- date: $(date -u +%Y-%m-%d); commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with local changes)')"
  echo "- threads: $threads (torch intra-op; BLAS likewise); OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
  "$root/incontext" ops-check 2>/dev/null | sed -n 's/^ops-check: seed [0-9]*, \(.*\)$/- Java: \1/p'
  "$py" - "$threads" <<'PY'
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
cfg = torch.__config__.show()
blas = "MKL" if "USE_MKL=ON" in cfg or torch.backends.mkl.is_available() else "unknown BLAS"
print(f"- Python: torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, {blas}, "
      f"oneDNN {'yes' if torch.backends.mkldnn.is_available() else 'no'}")
def best(f, n=10):
    f(); t = []
    for _ in range(n):
        a = time.perf_counter(); f(); t.append(time.perf_counter() - a)
    return min(t)
a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
x = torch.randn(64 << 20 >> 2); y = torch.empty_like(x)
mm = 2 * 2048 ** 3 / best(lambda: a @ b) / 1e9
cp = 2 * x.numel() * 4 / best(lambda: y.copy_(x)) / 1e9
print(f"- measured peaks (Python side, same threads): float32 matmul {mm:.1f} GFLOP/s, copy {cp:.1f} GB/s")
PY
}

bench_step_setup() {
  threads="${THREADS:-$(nproc)}"
  export OMP_WAIT_POLICY=PASSIVE
  export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-$threads}"
  py="$(bench_venv)"
  "$root/incontext" --version >/dev/null   # builds the CLI if needed
  bench_header "$threads"
}

median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }

median_ms() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p'; }

// Native benchmark of the all-prefix baselines (prefix_lstsq, ridge, averaging, k-NN) against the libtorch ways of
// computing the same predictions, measured in the same run:
//   (a) the reference code's way: a loop over prefixes k = 1..n-1 of one batched linalg_lstsq (driver gelsy; for
//       ridge one batched linalg_solve of the normal equations) per prefix;
//   (b) one batched call over all B x n systems: linalg_pinv of the zero-padded prefixes (B n, n, d) (ridge:
//       linalg_solve of the (B n, d, d) regularised Gram matrices), in chunks of prompts so that memory stays
//       below about 1 GiB.
// Prints a markdown table: variant x shape -> median ms, ratio to (a) and to (b), max |difference| to (a).
//   bench_prefix_lstsq [--reps N] [--threads T] [--quick] [--shape B,n,d]... [--ours] [--cpu-time]
// Thread settings: torch intra-op threads from --threads (default 2); OpenBLAS threads from OPENBLAS_NUM_THREADS
// (set it in the environment; it cannot be changed after OpenBLAS starts). Set OMP_WAIT_POLICY=PASSIVE too.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "bench_machine.h"
#include "incontext/ops.h"
#include "prefix_lstsq/prefix_lstsq.h"

namespace {

// --cpu-time: time the process's CPU time instead of the wall clock. With --threads 1 that is the work done, not
// counting time spent waiting for a core: the way to compare variants on a machine other jobs are loading.
bool g_cpu_time = false;

double now_ms() {
  if (!g_cpu_time) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Median of repeated runs after one warm-up; the number of runs adapts so that slow variants stay under ~4 s.
double median_ms(const std::function<void()>& f, int max_reps) {
  auto once = [&] {
    const double a = now_ms();
    f();
    return now_ms() - a;
  };
  const double first = once();
  const int reps = std::clamp(static_cast<int>(4000.0 / std::max(first, 1e-3)), 3, max_reps);
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(once());
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// (a) per-prefix loop, as the reference code does it.
at::Tensor loop_lstsq(const at::Tensor& x, const at::Tensor& y, double lambda) {
  const int64_t B = x.size(0), n = x.size(1), d = x.size(2);
  at::Tensor pred = at::zeros({B, n}, x.options());
  for (int64_t k = 1; k < n; ++k) {
    const at::Tensor A = x.narrow(1, 0, k), r = y.narrow(1, 0, k).unsqueeze(-1);
    at::Tensor w;
    if (lambda == 0.0) {
      w = std::get<0>(at::linalg_lstsq(A, r, std::nullopt, "gelsy"));
    } else {
      const at::Tensor At = A.transpose(1, 2);
      w = at::linalg_solve(at::matmul(At, A) + lambda * at::eye(d, x.options()), at::matmul(At, r));
    }
    pred.select(1, k).copy_(at::matmul(x.select(1, k).unsqueeze(1), w).reshape({-1}));
  }
  return pred;
}

// (b) every prefix of every prompt as one batched system, prompts in chunks.
at::Tensor batched_all(const at::Tensor& x, const at::Tensor& y, double lambda) {
  const int64_t B = x.size(0), n = x.size(1), d = x.size(2);
  const int64_t per_prompt = lambda == 0.0 ? 3 * n * n * d : 3 * n * d * d;  // elements held per prompt
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 27) / 8 / per_prompt);
  at::Tensor pred = at::empty({B, n}, x.options());
  // mask[k, i] = 1 if point i belongs to prefix k (i < k)
  const at::Tensor mask = at::ones({n, n}, x.options()).tril(-1);
  for (int64_t b0 = 0; b0 < B; b0 += chunk) {
    const int64_t m = std::min(chunk, B - b0);
    const at::Tensor xs = x.narrow(0, b0, m), ys = y.narrow(0, b0, m);
    at::Tensor w;
    if (lambda == 0.0) {
      const at::Tensor Xp = xs.unsqueeze(1) * mask.view({1, n, n, 1});        // (m, n, n, d)
      const at::Tensor Yp = (ys.unsqueeze(1) * mask.view({1, n, n})).unsqueeze(-1);  // (m, n, n, 1)
      w = at::matmul(at::linalg_pinv(Xp), Yp).squeeze(-1);                    // (m, n, d)
    } else {
      const at::Tensor outer = xs.unsqueeze(-1) * xs.unsqueeze(-2);            // (m, n, d, d)
      const at::Tensor G = at::cumsum(outer, 1) - outer + lambda * at::eye(d, x.options());
      const at::Tensor xy = xs * ys.unsqueeze(-1);
      const at::Tensor rhs = (at::cumsum(xy, 1) - xy).unsqueeze(-1);
      w = at::linalg_solve(G, rhs).squeeze(-1);
    }
    pred.narrow(0, b0, m).copy_((w * xs).sum(-1));
  }
  return pred;
}

struct Shape { int64_t B, n, d; };

}  // namespace

int main(int argc, char** argv) {
  int reps = 30, threads = 2;
  bool quick = false, ours_only = false;
  std::vector<Shape> only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--shape") && i + 1 < argc) {
      long long b = 0, n = 0, d = 0;
      if (std::sscanf(argv[++i], "%lld,%lld,%lld", &b, &n, &d) != 3 || b < 1 || n < 1 || d < 1) {
        std::fprintf(stderr, "--shape expects B,n,d with positive integers; got %s\n", argv[i]);
        return 2;
      }
      only.push_back({b, n, d});
    }
    else if (!std::strcmp(argv[i], "--ours")) ours_only = true;  // skip the slow baselines (ratios then read 0)
    else if (!std::strcmp(argv[i], "--cpu-time")) g_cpu_time = true;
  }
  at::set_num_threads(threads);
  const char* ob = std::getenv("OPENBLAS_NUM_THREADS");
  const char* wp = std::getenv("OMP_WAIT_POLICY");
  const auto [peak_gflops, peak_gbs] = incontext::bench::cpu_peaks(at::kDouble);
  std::printf("# prefix_lstsq benchmark\n\n%s\nOPENBLAS_NUM_THREADS=%s, OMP_WAIT_POLICY=%s; incontext fast kernel "
              "build: %s (INCONTEXT_CPU_ISA caps it)\nmeasured peaks: float64 matmul %.1f GFLOP/s, copy %.1f GB/s\n\n",
              incontext::bench::machine_line().c_str(), ob ? ob : "(unset)", wp ? wp : "(unset)",
              incontext::lstsq::fast_isa_name(incontext::lstsq::fast_isa()), peak_gflops, peak_gbs);
  std::printf("| variant | (B, n, d) | median ms | vs (a) loop | vs (b) batched | max abs diff to (a) |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  std::vector<Shape> shapes = {{64, 41, 20}, {1280, 41, 20}, {1280, 101, 20}, {1280, 41, 50}};
  if (quick) shapes = {{1280, 41, 20}};
  if (!only.empty()) shapes = only;
  at::manual_seed(0);
  for (const Shape s : shapes) {
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    const at::Tensor x = at::randn({s.B, s.n, s.d}, f64), y = at::randn({s.B, s.n}, f64);
    const at::Tensor x32 = x.to(at::kFloat), y32 = y.to(at::kFloat);
    char shape[64];
    std::snprintf(shape, sizeof shape, "(%lld, %lld, %lld)", (long long)s.B, (long long)s.n, (long long)s.d);
    auto row = [&](const char* name, double ms, double a, double b, const at::Tensor& out, const at::Tensor& ref) {
      const double diff = (out.narrow(0, 0, ref.size(0)).to(at::kDouble) - ref).abs().max().item<double>();
      std::printf("| %s | %s | %.3f | %.1fx | %.1fx | %.1e |\n", name, shape, ms, a / ms, b / ms, diff);
      std::fflush(stdout);
    };
    for (double lambda : {0.0, 1.0}) {
      const bool ridge = lambda > 0;
      at::Tensor pa, pb, pf, pf32;
      const double ta = ours_only ? 0.0 : median_ms([&] { pa = loop_lstsq(x, y, lambda); }, reps);
      const double tb = ours_only ? 0.0 : median_ms([&] { pb = batched_all(x, y, lambda); }, reps);
      if (ours_only) pa = pb = incontext::prefix_lstsq_reference(x.narrow(0, 0, 1), y.narrow(0, 0, 1), lambda);
      const double tf = median_ms([&] { pf = incontext::prefix_lstsq(x, y, lambda); }, reps);
      const double tf32 = median_ms([&] { pf32 = incontext::prefix_lstsq(x32, y32, lambda); }, reps);
      row(ridge ? "(a) loop of linalg_solve per prefix, ridge 1" : "(a) loop of linalg_lstsq(gelsy) per prefix", ta, ta, tb, pa, pa);
      row(ridge ? "(b) batched linalg_solve, all B n systems, ridge 1" : "(b) batched linalg_pinv, all B n padded prefixes", tb, ta, tb, pb, pa);
      row(ridge ? "incontext prefix_lstsq, ridge 1, float64" : "incontext prefix_lstsq, min-norm, float64", tf, ta, tb, pf, pa);
      row(ridge ? "incontext prefix_lstsq, ridge 1, float32 in/out" : "incontext prefix_lstsq, min-norm, float32 in/out", tf32, ta, tb, pf32, pa);
    }
    {
      at::Tensor pw, wts;
      const double tw = median_ms([&] { std::tie(pw, wts) = incontext::prefix_lstsq_with_weights(x, y, at::scalar_tensor(0.0, f64)); }, reps);
      std::printf("| incontext prefix_lstsq_with_weights, min-norm, float64 | %s | %.3f | | | |\n", shape, tw);
      const double tavg = median_ms([&] { incontext::prefix_averaging(x, y); }, reps);
      std::printf("| incontext prefix_averaging, float64 | %s | %.3f | | | |\n", shape, tavg);
      const double tknn = median_ms([&] { incontext::prefix_knn(x, y, 3, false); }, reps);
      std::printf("| incontext prefix_knn k=3, float64 | %s | %.3f | | | |\n", shape, tknn);
    }
    if (s.B == 64 && s.d == 20) {
      const double tr = median_ms([&] { incontext::prefix_lstsq_reference(x, y, 0.0); }, 3);
      std::printf("| incontext prefix_lstsq_reference (per-prefix Jacobi SVD, the spec) | %s | %.3f | | | |\n", shape, tr);
    }
  }
  return 0;
}

// Native benchmark of the project's ops against the libtorch way of doing the same thing, in one run.
// Prints a table: op x shape x implementation -> median time (ms) and the ratio to the libtorch baseline.
//   bench_ops [attention|prefix_lstsq|all] [--reps N]
// Times are medians of N runs after warm-up (device-synchronised on CUDA).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include "incontext/ops.h"

namespace {

double median_ms(const std::function<void()>& f, int reps) {
  for (int i = 0; i < std::max(1, reps / 5); ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void row(const char* op, const std::string& shape, const char* impl, double ms, double base_ms) {
  std::printf("| %-13s | %-18s | %-30s | %10.3f | %6.2fx |\n", op, shape.c_str(), impl, ms, base_ms / ms);
  std::fflush(stdout);
}

void bench_attention(int reps) {
  struct S { int64_t B, H, T, D; };
  for (S s : {S{64, 8, 82, 32}, S{64, 8, 202, 32}, S{64, 4, 82, 64}}) {
    const auto opt = at::TensorOptions().dtype(at::kFloat);
    const at::Tensor q = at::randn({s.B, s.H, s.T, s.D}, opt), k = at::randn_like(q), v = at::randn_like(q);
    const at::Tensor g = at::randn_like(q);
    const std::string shape = "(" + std::to_string(s.B) + "," + std::to_string(s.H) + "," + std::to_string(s.T) + "," + std::to_string(s.D) + ")";
    const double sdpa = median_ms([&] { at::scaled_dot_product_attention(q, k, v, {}, 0.0, true); }, reps);
    row("attention", shape, "libtorch SDPA fwd (baseline)", sdpa, sdpa);
    row("attention", shape, "incontext fwd", median_ms([&] { incontext::attention(q, k, v, true); }, reps), sdpa);
    auto fb = [&](bool ours) {
      auto qq = q.detach().requires_grad_(true), kk = k.detach().requires_grad_(true), vv = v.detach().requires_grad_(true);
      auto o = ours ? incontext::attention(qq, kk, vv, true) : at::scaled_dot_product_attention(qq, kk, vv, {}, 0.0, true);
      torch::autograd::grad({o}, {qq, kk, vv}, {g});
    };
    const double sdpa_fb = median_ms([&] { fb(false); }, reps);
    row("attention", shape, "libtorch SDPA fwd+bwd (baseline)", sdpa_fb, sdpa_fb);
    row("attention", shape, "incontext fwd+bwd", median_ms([&] { fb(true); }, reps), sdpa_fb);
  }
}

void bench_prefix_lstsq(int reps) {
  struct S { int64_t B, n, d; };
  for (S s : {S{64, 41, 20}, S{1280, 41, 20}}) {
    const auto opt = at::TensorOptions().dtype(at::kFloat);
    const at::Tensor x = at::randn({s.B, s.n, s.d}, opt), y = at::randn({s.B, s.n}, opt);
    const std::string shape = "(" + std::to_string(s.B) + "," + std::to_string(s.n) + "," + std::to_string(s.d) + ")";
    auto loop = [&] {  // the reference code's way: one batched gelsy lstsq per prefix
      for (int64_t k = 1; k < s.n; ++k)
        at::linalg_lstsq(x.narrow(1, 0, k), y.narrow(1, 0, k).unsqueeze(-1), std::nullopt, "gelsy");
    };
    const int r = s.B > 100 ? std::max(3, reps / 10) : reps;
    const double base = median_ms(loop, r);
    row("prefix_lstsq", shape, "per-prefix linalg_lstsq (baseline)", base, base);
    row("prefix_lstsq", shape, "incontext", median_ms([&] { incontext::prefix_lstsq(x, y, 0.0); }, r), base);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = "all";
  int reps = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else which = argv[i];
  }
  at::manual_seed(0);
  std::printf("threads %d; median of %d runs (ms); ratio = baseline / this\n", at::get_num_threads(), reps);
  std::printf("| %-13s | %-18s | %-30s | %10s | %7s |\n", "op", "shape", "implementation", "ms", "ratio");
  std::printf("|---------------|--------------------|--------------------------------|------------|---------|\n");
  if (which == "all" || which == "attention") bench_attention(reps);
  if (which == "all" || which == "prefix_lstsq") bench_prefix_lstsq(reps);
  return 0;
}

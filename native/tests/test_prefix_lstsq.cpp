// Native tests of prefix_lstsq: the reference against per-prefix ATen pseudo-inverse / solve in float64
// (including k < d, duplicated points, d = 1, n = 1), poisoned outputs, and gradients against ATen autograd
// through linalg_pinv. Tolerances are written at each check.
#include <cstdio>
#include <limits>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include "incontext/ops.h"
#include "prefix_lstsq/prefix_lstsq.h"
#include "testing.h"

using incontext::testing::allclose;
using incontext::testing::Suite;

namespace {

// Per-prefix solve with ATen (differentiable): prediction k = x_k . pinv(X_<k) y_<k, or ridge.
at::Tensor prefix_aten(const at::Tensor& x, const at::Tensor& y, double lambda) {
  const int64_t n = x.size(1), d = x.size(2);
  std::vector<at::Tensor> preds{at::zeros({x.size(0)}, x.options())};
  for (int64_t k = 1; k < n; ++k) {
    const at::Tensor A = x.narrow(1, 0, k), r = y.narrow(1, 0, k).unsqueeze(-1);
    at::Tensor w;
    if (lambda == 0) {
      w = at::matmul(at::linalg_pinv(A), r);
    } else {
      const at::Tensor G = at::matmul(A.transpose(1, 2), A) + lambda * at::eye(d, x.options());
      w = at::linalg_solve(G, at::matmul(A.transpose(1, 2), r));
    }
    preds.push_back(at::matmul(x.select(1, k).unsqueeze(1), w).reshape({-1}));
  }
  return at::stack(preds, 1);
}

}  // namespace

int main() {
  const uint64_t seed = incontext::testing::seed_from_env();
  std::printf("test_prefix_lstsq: seed %llu (set INCONTEXT_SEED to repeat)\n", (unsigned long long)seed);
  at::manual_seed(seed);
  Suite suite;
  const auto f64 = at::TensorOptions().dtype(at::kDouble);

  struct Case { int64_t B, n, d; double lambda; bool duplicate; };
  const Case cases[] = {{4, 11, 5, 0, false}, {3, 41, 20, 0, false}, {3, 9, 1, 0, false}, {2, 1, 4, 0, false},
                        {3, 15, 6, 0, true},  {3, 21, 8, 0.5, false}, {2, 7, 10, 2.0, true}};
  for (const Case& c : cases) {
    char name[160];
    std::snprintf(name, sizeof name, "reference vs ATen per-prefix %s, poisoned output, B=%lld n=%lld d=%lld%s",
                  c.lambda == 0 ? "pinv" : "ridge solve", (long long)c.B, (long long)c.n, (long long)c.d,
                  c.duplicate ? ", duplicated points" : "");
    suite.run(name, [&] {
      at::Tensor x = at::randn({c.B, c.n, c.d}, f64), y = at::randn({c.B, c.n}, f64);
      if (c.duplicate && c.n > 4) {  // points 3 and 4 repeat point 1 (x and y)
        x.select(1, 3).copy_(x.select(1, 1));
        x.select(1, 4).copy_(x.select(1, 1));
        y.select(1, 3).copy_(y.select(1, 1));
        y.select(1, 4).copy_(y.select(1, 1));
      }
      at::Tensor pred = at::full({c.B, c.n}, std::numeric_limits<double>::quiet_NaN(), f64);
      incontext::lstsq::FwdParams<double> p{x.data_ptr<double>(), y.data_ptr<double>(), pred.data_ptr<double>(),
                                            c.B, c.n, c.d, c.lambda};
      incontext::lstsq::forward_reference(p, 0, c.B);
      // float64 both ways; the SVD routes differ, so agreement is to ~1e-10 of the scale of the predictions.
      return allclose("pred", pred, prefix_aten(x, y, c.lambda), 1e-9, 1e-9);
    });
  }

  suite.run("k < d predictions are the projection of w onto span(x_<k) (noiseless, d = 12)", [&] {
    const int64_t B = 64, n = 12, d = 12;
    const at::Tensor x = at::randn({B, n, d}, f64), w = at::randn({B, d, 1}, f64);
    const at::Tensor y = at::matmul(x, w).squeeze(-1);
    const at::Tensor pred = incontext::prefix_lstsq(x, y, 0.0);
    // For k < d, min-norm w_hat = P w with P the projector onto the row space of X_<k.
    bool ok = true;
    for (int64_t k : {1, 5, 11}) {
      const at::Tensor A = x.narrow(1, 0, k);
      const at::Tensor P = at::matmul(at::linalg_pinv(A), A);
      const at::Tensor expect = at::matmul(x.select(1, k).unsqueeze(1), at::matmul(P, w)).reshape({-1});
      ok = allclose("pred_k", pred.select(1, k), expect, 1e-9, 1e-9) && ok;
    }
    return ok;
  });

  for (double lambda : {0.0, 0.7}) {
    char name[128];
    std::snprintf(name, sizeof name, "gradients vs ATen autograd through %s, float64",
                  lambda == 0 ? "linalg_pinv" : "linalg_solve (ridge)");
    suite.run(name, [&] {
      const at::Tensor x = at::randn({3, 13, 6}, f64).requires_grad_(true);
      const at::Tensor y = at::randn({3, 13}, f64).requires_grad_(true);
      const at::Tensor g = at::randn({3, 13}, f64);
      const at::Tensor pred = incontext::prefix_lstsq(x, y, lambda);
      const at::Tensor pred_ref = prefix_aten(x, y, lambda);
      const auto gr = torch::autograd::grad({pred}, {x, y}, {g});
      const auto gr_ref = torch::autograd::grad({pred_ref}, {x, y}, {g});
      return allclose("pred", pred, pred_ref, 1e-9, 1e-9) && allclose("dx", gr[0], gr_ref[0], 1e-8, 1e-7) &&
             allclose("dy", gr[1], gr_ref[1], 1e-8, 1e-7);
    });
  }

  suite.run("float32 inputs agree with float64 within 1e-4 relative (well-conditioned, ridge 0.1)", [&] {
    const at::Tensor x = at::randn({8, 41, 20}, f64), y = at::randn({8, 41}, f64);
    const double e = incontext::testing::rel_err(incontext::prefix_lstsq(x.to(at::kFloat), y.to(at::kFloat), 0.1),
                                                 incontext::prefix_lstsq(x, y, 0.1));
    std::printf("  relative error %.2e\n", e);
    return e <= 1e-4;
  });

  suite.run("bad arguments raise c10::Error naming the argument", [&] {
    const at::Tensor x = at::randn({2, 5, 3}, f64), y = at::randn({2, 5}, f64);
    int raised = 0;
    auto expect = [&](const char* needle, const std::function<void()>& f) {
      try {
        f();
        std::printf("  no error for case '%s'\n", needle);
      } catch (const c10::Error& e) {
        const std::string msg = e.what_without_backtrace();
        if (msg.find(needle) != std::string::npos) ++raised;
        else std::printf("  message lacks '%s': %s\n", needle, msg.c_str());
      }
    };
    expect("'x' must be a 3-D tensor", [&] { incontext::prefix_lstsq(y, y, 0); });
    expect("'y' must have shape (B, n)", [&] { incontext::prefix_lstsq(x, y.narrow(0, 0, 1), 0); });
    expect("'lambda' must be finite and >= 0", [&] { incontext::prefix_lstsq(x, y, -1); });
    expect("contains NaN", [&] {
      at::Tensor bad = y.clone();
      bad[1][2] = std::numeric_limits<double>::quiet_NaN();
      incontext::prefix_lstsq(x, bad, 0);
    });
    expect("must have dtype", [&] { incontext::prefix_lstsq(x.to(at::kHalf), y.to(at::kHalf), 0); });
    return raised == 5;
  });

  return suite.finish();
}

// Native tests of prefix_lstsq: the reference against per-prefix ATen pseudo-inverse / solve in float64
// (including k < d, duplicated points, d = 1, n = 1), poisoned outputs, and gradients against ATen autograd
// through linalg_pinv. Tolerances are written at each check.
#include <cstdio>
#include <limits>
#include <utility>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include "incontext/ops.h"
#include "prefix_lstsq/prefix_lstsq.h"
#include "checks.h"
#include "testing.h"

using incontext::testing::allclose;
using incontext::testing::Suite;

namespace {

// Per-prefix solve with ATen (differentiable): prediction k = x_k . pinv(X_<k) y_<k, or ridge.
at::Tensor prefix_aten(const at::Tensor& x, const at::Tensor& y, double lambda, const at::Tensor& queries = {}) {
  const int64_t n = x.size(1), d = x.size(2);
  const at::Tensor& q = queries.defined() ? queries : x;
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
    preds.push_back(at::matmul(q.select(1, k).unsqueeze(1), w).reshape({-1}));
  }
  return at::stack(preds, 1);
}

// Runs the kernel-level reference or fast forward on contiguous CPU tensors with NaN-poisoned outputs, so an
// entry the kernel forgets to write fails every comparison. Returns (pred, weights).
// fast = false: the reference; true: forward_fast compiled for `isa`.
template <class T>
std::pair<at::Tensor, at::Tensor> run_kernel(bool fast, const at::Tensor& x, const at::Tensor& y, const at::Tensor& q,
                                             const at::Tensor& lambda,
                                             incontext::lstsq::FastIsa isa = incontext::lstsq::fast_isa()) {
  const int64_t B = x.size(0), n = x.size(1), d = x.size(2);
  at::Tensor pred = at::full({B, n}, std::numeric_limits<double>::quiet_NaN(), x.options());
  at::Tensor w = at::full({B, n, d}, std::numeric_limits<double>::quiet_NaN(), x.options());
  const at::Tensor lam = lambda.to(at::kDouble).contiguous();
  incontext::lstsq::FwdParams<T> p{x.data_ptr<T>(), y.data_ptr<T>(), q.defined() ? q.data_ptr<T>() : nullptr,
                                   lam.data_ptr<double>(), pred.data_ptr<T>(), w.data_ptr<T>(), B, n, d};
  if (!fast) {
    incontext::lstsq::forward_reference(p, 0, B);
  } else {
    std::vector<int64_t> idx[2];
    for (int64_t b = 0; b < B; ++b) idx[lam[b].item<double>() > 0 ? 1 : 0].push_back(b);
    for (int kind = 0; kind < 2; ++kind)
      incontext::lstsq::forward_fast(p, idx[kind].data(), 0, static_cast<int64_t>(idx[kind].size()), kind == 1, isa);
  }
  return {pred, w};
}

// Inputs with a skewed covariance: coordinate i has variance 1/(i+1), then a random rotation.
at::Tensor skewed(int64_t B, int64_t n, int64_t d, const at::TensorOptions& o) {
  const at::Tensor scales = (1.0 / (at::arange(d, o) + 1.0)).sqrt();
  const at::Tensor rot = std::get<0>(at::linalg_qr(at::randn({d, d}, o)));
  return at::matmul(at::randn({B, n, d}, o) * scales, rot);
}

// Naive per-prefix k-NN (loops), the spec of prefix_knn.
at::Tensor knn_loop(const at::Tensor& x, const at::Tensor& y, const at::Tensor& q, int64_t k, bool distance) {
  const int64_t B = x.size(0), n = x.size(1);
  at::Tensor out = at::zeros({B, n}, at::kDouble);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 1; i < n; ++i) {
      const at::Tensor dist = (x[b].narrow(0, 0, i) - q[b][i]).pow(2).sum(-1).sqrt();
      const int64_t kk = std::min(i, k);
      const at::Tensor order = std::get<1>(dist.sort());
      double num = 0, den = 0;
      bool any_zero = false;
      for (int64_t t = 0; t < kk; ++t) any_zero = any_zero || dist[order[t]].item<double>() == 0.0;
      for (int64_t t = 0; t < kk; ++t) {
        const int64_t j = order[t].item<int64_t>();
        const double dj = dist[j].item<double>();
        const double wt = !distance ? 1.0 : any_zero ? (dj == 0.0 ? 1.0 : 0.0) : 1.0 / dj;
        num += wt * y[b][j].item<double>();
        den += wt;
      }
      out[b][i] = num / den;
    }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t seed = incontext::testing::seed_from_env();
  std::printf("test_prefix_lstsq: seed %llu (set INCONTEXT_SEED to repeat)\n", (unsigned long long)seed);
  at::manual_seed(seed);
  Suite suite(argc, argv);
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
      const at::Tensor lam = at::full({c.B}, c.lambda, f64);
      incontext::lstsq::FwdParams<double> p{x.data_ptr<double>(), y.data_ptr<double>(), nullptr, lam.data_ptr<double>(),
                                            pred.data_ptr<double>(), nullptr, c.B, c.n, c.d};
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
      raised += incontext::testing::raises_containing(needle, f) ? 1 : 0;
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

  // ---- the fast incremental kernel against the per-prefix float64 SVD / Cholesky reference ----
  struct FastCase { const char* what; int64_t B, n, d; int lam_kind; bool dup, skew, queries; };
  // lam_kind: 0 = all zero (minimum norm), 1 = all 0.5 (ridge), 2 = mixed per prompt (0, 0.3, 0, 2.0, ...)
  const FastCase fast_cases[] = {
      {"k < d, k = d and k > d", 13, 41, 20, 0, false, false, false},
      {"ill-conditioned (eigenvalues 1/(i+1))", 11, 41, 20, 0, false, true, false},
      {"duplicated points", 9, 30, 8, 0, true, false, false},
      {"d = 1", 5, 17, 1, 0, false, false, false},
      {"n = 1", 3, 1, 4, 0, false, false, false},
      {"n < d throughout", 10, 6, 12, 0, false, false, true},
      {"ridge", 12, 41, 20, 1, false, false, false},
      {"ridge, ill-conditioned, duplicated", 7, 30, 10, 1, true, true, false},
      {"mixed per-prompt lambda, separate queries", 21, 25, 9, 2, true, false, true},
      {"d = 50, n = 101", 9, 101, 50, 0, false, false, true},
  };
  // Every build of the kernel this CPU can run is compared with the reference (the one a process picks is only the
  // widest); the others are reported as skipped.
  using incontext::lstsq::FastIsa;
  std::vector<FastIsa> isas;
  std::string isa_names;
  for (FastIsa isa : {FastIsa::portable, FastIsa::avx2, FastIsa::avx512}) {
    if (incontext::lstsq::fast_isa_supported(isa)) {
      isas.push_back(isa);
      isa_names += std::string(isa_names.empty() ? "" : ", ") + incontext::lstsq::fast_isa_name(isa);
    } else {
      suite.skip(std::string("fast kernel, ") + incontext::lstsq::fast_isa_name(isa) + " build, vs reference",
                 "this CPU lacks the instruction set");
    }
  }
  std::printf("fast kernel builds tested: %s (in use: %s)\n", isa_names.c_str(),
              incontext::lstsq::fast_isa_name(incontext::lstsq::fast_isa()));
  for (const FastCase& c : fast_cases) {
    for (bool f32 : {false, true}) {
      char name[240];
      std::snprintf(name, sizeof name, "fast kernel (%s) vs reference, %s, B=%lld n=%lld d=%lld, %s, poisoned outputs",
                    isa_names.c_str(), c.what, (long long)c.B, (long long)c.n, (long long)c.d, f32 ? "float32" : "float64");
      suite.run(name, [&] {
        at::Tensor x = c.skew ? skewed(c.B, c.n, c.d, f64) : at::randn({c.B, c.n, c.d}, f64);
        at::Tensor y = at::randn({c.B, c.n}, f64);
        if (c.dup && c.n > 6) {  // points 3, 4 and 6 repeat point 1
          for (int64_t i : {3, 4, 6}) {
            x.select(1, i).copy_(x.select(1, 1));
            y.select(1, i).copy_(y.select(1, 1));
          }
        }
        at::Tensor q = c.queries ? at::randn({c.B, c.n, c.d}, f64) : at::Tensor();
        at::Tensor lam = at::zeros({c.B}, f64);
        if (c.lam_kind == 1) lam.fill_(0.5);
        if (c.lam_kind == 2)
          for (int64_t b = 0; b < c.B; ++b) lam[b] = b % 2 == 0 ? 0.0 : 0.3 + 0.1 * b;
        if (f32) {  // the float32 data, widened exactly, is what the float64 reference solves
          x = x.to(at::kFloat);
          y = y.to(at::kFloat);
          if (q.defined()) q = q.to(at::kFloat);
        }
        const at::Tensor xd = x.to(at::kDouble), yd = y.to(at::kDouble), qd = q.defined() ? q.to(at::kDouble) : q;
        auto [pr, wr] = run_kernel<double>(false, xd, yd, qd, lam);
        // Relative to the largest prediction / weight: float64 1e-10, float32 1e-4 (the tolerances).
        const double tol = f32 ? 1e-4 : 1e-10;
        const double ps = std::max(pr.abs().max().item<double>(), 1e-300);
        const double ws = std::max(wr.abs().max().item<double>(), 1e-300);
        bool ok = true;
        for (FastIsa isa : isas) {
          auto [pf, wf] = f32 ? run_kernel<float>(true, x, y, q, lam, isa) : run_kernel<double>(true, x, y, q, lam, isa);
          std::printf("  %s: max relative error: pred %.2e, weights %.2e\n", incontext::lstsq::fast_isa_name(isa),
                      incontext::testing::rel_err(pf, pr), incontext::testing::rel_err(wf, wr));
          ok = allclose("pred", pf, pr, tol * ps, tol) && allclose("weights", wf, wr, tol * ws, tol) && ok;
        }
        return ok;
      });
    }
  }

  suite.run("op: prefix_lstsq (fast) equals prefix_lstsq_reference, per-prompt lambda, queries, weights", [&] {
    const int64_t B = 10, n = 30, d = 7;
    const at::Tensor x = at::randn({B, n, d}, f64), y = at::randn({B, n}, f64), q = at::randn({B, n, d}, f64);
    const at::Tensor lam = at::tensor({0.0, 0.1, 0.0, 1.0, 0.0, 0.0, 3.0, 0.0, 0.2, 0.0}, f64);
    const at::Tensor p1 = incontext::prefix_lstsq(x, y, lam, q);
    const at::Tensor p2 = incontext::prefix_lstsq_reference(x, y, lam, q);
    auto [p3, w3] = incontext::prefix_lstsq_with_weights(x, y, lam, q);
    auto [p4, w4] = incontext::prefix_lstsq_with_weights_reference(x, y, lam, q);
    const at::Tensor via_w = (w3 * q).sum(-1);  // pred = q . w by definition
    const bool zero_start = w3.select(1, 0).abs().max().item<double>() == 0.0 && p1.select(1, 0).abs().max().item<double>() == 0.0;
    if (!zero_start) std::printf("  prediction / weights at k = 0 are not exactly 0\n");
    return zero_start && allclose("pred", p1, p2, 1e-10, 1e-10) && allclose("pred (with weights)", p3, p2, 1e-10, 1e-10) &&
           allclose("weights", w3, w4, 1e-10, 1e-10) && allclose("q . w", via_w, p1, 1e-10, 1e-10) &&
           !w3.requires_grad();
  });

  suite.run("op: scalar lambda tensor equals the double overload; separate queries = x equals default", [&] {
    const at::Tensor x = at::randn({6, 20, 5}, f64), y = at::randn({6, 20}, f64);
    return allclose("0-D lambda", incontext::prefix_lstsq(x, y, at::scalar_tensor(0.4, f64)),
                    incontext::prefix_lstsq(x, y, 0.4), 0, 0) &&
           allclose("queries = x", incontext::prefix_lstsq(x, y, at::scalar_tensor(0.0, f64), x),
                    incontext::prefix_lstsq(x, y, 0.0), 0, 0);
  });

  for (double lambda : {0.0, 0.7}) {
    char name[128];
    std::snprintf(name, sizeof name, "gradients into x, y and separate queries vs ATen autograd, %s, float64",
                  lambda == 0 ? "minimum norm" : "ridge");
    suite.run(name, [&] {
      const at::Tensor x = at::randn({3, 12, 5}, f64).requires_grad_(true);
      const at::Tensor y = at::randn({3, 12}, f64).requires_grad_(true);
      const at::Tensor q = at::randn({3, 12, 5}, f64).requires_grad_(true);
      const at::Tensor g = at::randn({3, 12}, f64);
      const at::Tensor pred = incontext::prefix_lstsq(x, y, at::scalar_tensor(lambda, f64), q);
      const at::Tensor pred_ref = prefix_aten(x, y, lambda, q);
      const auto gr = torch::autograd::grad({pred}, {x, y, q}, {g});
      const auto gr_ref = torch::autograd::grad({pred_ref}, {x, y, q}, {g});
      return allclose("pred", pred, pred_ref, 1e-9, 1e-9) && allclose("dx", gr[0], gr_ref[0], 1e-8, 1e-7) &&
             allclose("dy", gr[1], gr_ref[1], 1e-8, 1e-7) && allclose("dq", gr[2], gr_ref[2], 1e-8, 1e-7);
    });
  }

  suite.run("prefix_averaging equals q_k . (1/k) sum_{i<k} y_i x_i (loop), with and without queries", [&] {
    const int64_t B = 4, n = 9, d = 3;
    const at::Tensor x = at::randn({B, n, d}, f64), y = at::randn({B, n}, f64), q = at::randn({B, n, d}, f64);
    at::Tensor ref = at::zeros({B, n}, f64), ref_q = at::zeros({B, n}, f64);
    for (int64_t k = 1; k < n; ++k) {
      const at::Tensor w = (x.narrow(1, 0, k) * y.narrow(1, 0, k).unsqueeze(-1)).sum(1) / double(k);
      ref.select(1, k).copy_((w * x.select(1, k)).sum(-1));
      ref_q.select(1, k).copy_((w * q.select(1, k)).sum(-1));
    }
    return allclose("averaging", incontext::prefix_averaging(x, y), ref, 1e-12, 1e-12) &&
           allclose("averaging, queries", incontext::prefix_averaging(x, y, q), ref_q, 1e-12, 1e-12);
  });

  for (bool distance : {false, true}) {
    suite.run(std::string("prefix_knn equals a per-prefix loop, k = 3, ") + (distance ? "distance" : "uniform") +
                  " weights, a repeated point (distance 0) and separate queries",
              [&] {
                const int64_t B = 3, n = 12, d = 4;
                at::Tensor x = at::randn({B, n, d}, f64), y = at::randn({B, n}, f64);
                x.select(1, 7).copy_(x.select(1, 2));  // query 7 sits exactly on point 2
                y.select(1, 7).copy_(y.select(1, 2));  // so that the tie between points 2 and 7 is harmless
                at::Tensor q = at::randn({B, n, d}, f64);
                q.select(1, 9).copy_(x.select(1, 5));
                return allclose("knn", incontext::prefix_knn(x, y, 3, distance), knn_loop(x, y, x, 3, distance), 1e-12, 1e-12) &&
                       allclose("knn, queries", incontext::prefix_knn(x, y, 3, distance, q), knn_loop(x, y, q, 3, distance), 1e-12, 1e-12) &&
                       allclose("knn, k = 1", incontext::prefix_knn(x, y, 1, distance, q), knn_loop(x, y, q, 1, distance), 1e-12, 1e-12);
              });
  }

  suite.run("new arguments: bad lambda tensor, queries, k raise errors naming the argument", [&] {
    const at::Tensor x = at::randn({2, 5, 3}, f64), y = at::randn({2, 5}, f64);
    int raised = 0;
    auto expect = [&](const char* needle, const std::function<void()>& f) {
      raised += incontext::testing::raises_containing(needle, f) ? 1 : 0;
    };
    expect("'lambda' must be finite and >= 0 (0 = minimum-norm least squares, > 0 = ridge); got -1.000000 for prompt 1",
           [&] { incontext::prefix_lstsq(x, y, at::tensor({0.0, -1.0}, f64)); });
    expect("'lambda' must be a scalar (0-D tensor) or have shape (B) = [2]", [&] { incontext::prefix_lstsq(x, y, at::zeros({3}, f64)); });
    expect("'queries' must have the shape of 'x'", [&] { incontext::prefix_lstsq(x, y, at::zeros({}, f64), at::zeros({2, 4, 3}, f64)); });
    expect("'queries' contains an infinity", [&] {
      at::Tensor q = x.clone();
      q[0][1][2] = std::numeric_limits<double>::infinity();
      incontext::prefix_lstsq_with_weights(x, y, at::zeros({}, f64), q);
    });
    expect("incontext.prefix_knn: argument 'k'", [&] { incontext::prefix_knn(x, y, 0, false); });
    expect("incontext.prefix_averaging: argument 'x' contains NaN", [&] {
      at::Tensor bad = x.clone();
      bad[1][2][0] = std::numeric_limits<double>::quiet_NaN();
      incontext::prefix_averaging(bad, y);
    });
    expect("argument 'x' has entries of magnitude", [&] { incontext::prefix_lstsq(x * 1e300, y, 0.0); });
    expect("argument 'y' has entries of magnitude", [&] { incontext::prefix_lstsq(x, y * 1e200, 0.5); });
    return raised == 8;
  });

  suite.run("error kinds: bad arguments raise c10::ValueError, op failures a c10::Error that is not one", [&] {
    // Java maps the first to IllegalArgumentException and the second to NativeOpException (java_api.h).
    const at::Tensor y = at::randn({2, 5}, f64);
    bool ok = true;
    try {
      incontext::prefix_lstsq(y, y, 0.0);
      ok = false;
    } catch (const c10::ValueError&) {
    }
    try {
      incontext::detail::fail_runtime("prefix_lstsq", "CUDA kernel failed: test");
      ok = false;
    } catch (const c10::ValueError&) {
      std::printf("  fail_runtime raised a ValueError\n");
      ok = false;
    } catch (const c10::Error& e) {
      ok = ok && std::string(e.what_without_backtrace()).rfind("incontext.prefix_lstsq: CUDA kernel failed", 0) == 0;
    }
    return ok;
  });

  // ---- CUDA (only where a GPU is present) ----
  suite.cuda_section();
  if (!at::hasCUDA()) {
    suite.skip("CUDA prefix_lstsq against the float64 CPU reference (float64 1e-10, float32 1e-4)",
               "no CUDA device in this process (or libtorch without CUDA)");
  } else {
    for (bool f32 : {false, true}) {
      suite.run(std::string("CUDA prefix_lstsq vs CPU reference, mixed lambda, queries, duplicates, d = 20 and 50, ") +
                    (f32 ? "float32 (1e-4)" : "float64 (1e-10)"),
                [&] {
                  bool ok = true;
                  for (int64_t d : {1, 20, 50}) {
                    const int64_t B = 37, n = 41;
                    at::Tensor x = skewed(B, n, d, f64), y = at::randn({B, n}, f64), q = at::randn({B, n, d}, f64);
                    x.select(1, 5).copy_(x.select(1, 2));
                    y.select(1, 5).copy_(y.select(1, 2));
                    at::Tensor lam = at::zeros({B}, f64);
                    for (int64_t b = 1; b < B; b += 3) lam[b] = 0.5;
                    const auto dt = f32 ? at::kFloat : at::kDouble;
                    x = x.to(dt); y = y.to(dt); q = q.to(dt);
                    auto [pr, wr] = incontext::prefix_lstsq_with_weights_reference(x.to(at::kDouble), y.to(at::kDouble), lam, q.to(at::kDouble));
                    auto [pc, wc] = incontext::prefix_lstsq_with_weights(x.cuda(), y.cuda(), lam, q.cuda());
                    const double tol = f32 ? 1e-4 : 1e-10;
                    std::printf("  d=%lld relative error: pred %.2e, weights %.2e\n", (long long)d,
                                incontext::testing::rel_err(pc, pr), incontext::testing::rel_err(wc, wr));
                    ok = allclose("pred", pc, pr, tol * pr.abs().max().item<double>(), tol) &&
                         allclose("weights", wc, wr, tol * wr.abs().max().item<double>(), tol) && ok;
                  }
                  return ok;
                });
    }
  }

  return suite.finish();
}

// prefix_averaging and prefix_knn: the cheap all-prefix baselines, batched on the device of the input with ATen
// ops (so they run on CPU and CUDA alike and take their gradients from libtorch's autograd).
//   averaging: w_k = (1/k) sum_{i<k} y_i x_i is an exclusive prefix sum, O(B n d).
//   k-NN: one (B, n, n) distance matrix (exact pairwise distances, not the |a|^2 - 2ab + |b|^2 form, so a repeated
//   point is at distance exactly 0), points j >= i masked to +inf, then topk over j: O(B n^2 d) and B n^2 memory.
#include <cmath>
#include <limits>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "boosted_trees/boosted_trees.h"
#include "checks.h"
#include "incontext/ops.h"

namespace incontext {

namespace {

// Shared checks; returns the queries (x when none are given).
at::Tensor check_prefix_args(const char* op, const at::Tensor& x, const at::Tensor& y,
                             const std::optional<at::Tensor>& queries) {
  using detail::fail;
  detail::check_rank(x, op, "x", 3, "(B, n, d)");
  detail::check_rank(y, op, "y", 2, "(B, n)");
  detail::check_dtype(x, op, "x", {at::kFloat, at::kDouble});
  detail::check_like(y, op, "y", x, "x");
  if (y.size(0) != x.size(0) || y.size(1) != x.size(1))
    fail(op, "argument 'y' must have shape (B, n) = " + detail::shape_str({x.size(0), x.size(1)}) +
                 " to match 'x' of shape " + detail::shape_str(x.sizes()) + "; got " + detail::shape_str(y.sizes()));
  if (x.size(1) < 1) fail(op, "the number of points n (dim 1 of 'x') must be at least 1; got shape " + detail::shape_str(x.sizes()));
  if (x.size(2) < 1) fail(op, "the dimension d (dim 2 of 'x') must be at least 1; got shape " + detail::shape_str(x.sizes()));
  detail::check_finite(x, op, "x");
  detail::check_finite(y, op, "y");
  if (!(queries.has_value() && queries->defined())) return x;
  const at::Tensor& q = *queries;
  detail::check_rank(q, op, "queries", 3, "(B, n, d)");
  detail::check_like(q, op, "queries", x, "x");
  if (q.sizes() != x.sizes())
    fail(op, "argument 'queries' must have the shape of 'x' " + detail::shape_str(x.sizes()) + "; got " +
                 detail::shape_str(q.sizes()));
  detail::check_finite(q, op, "queries");
  return q;
}

}  // namespace

at::Tensor prefix_averaging(const at::Tensor& x, const at::Tensor& y, const std::optional<at::Tensor>& queries) {
  const at::Tensor q = check_prefix_args("prefix_averaging", x, y, queries);
  const int64_t B = x.size(0), n = x.size(1), d = x.size(2);
  const at::Tensor terms = x * y.unsqueeze(-1);
  // Exclusive prefix sum: entry k sums points 0..k-1.
  const at::Tensor sums = at::cat({at::zeros({B, 1, d}, x.options()), at::cumsum(terms, 1).narrow(1, 0, n - 1)}, 1);
  const at::Tensor count = at::arange(n, x.options()).clamp_min(1.0).view({1, n, 1});
  return (q * (sums / count)).sum(-1);
}

at::Tensor prefix_knn(const at::Tensor& x, const at::Tensor& y, int64_t k, bool distance_weighted,
                      const std::optional<at::Tensor>& queries) {
  const char* op = "prefix_knn";
  const at::Tensor q = check_prefix_args(op, x, y, queries);
  if (k < 1) detail::fail(op, "argument 'k' (the number of neighbours) must be at least 1; got " + std::to_string(k));
  const int64_t B = x.size(0), n = x.size(1);
  const int64_t kk = std::min(k, n);
  // compute_mode 2 = never use the matrix-product form, whose rounding would hide exact repeats.
  at::Tensor dist = at::cdist(q, x, 2.0, 2);  // (B, n, n): dist[b, i, j] = |q_i - x_j|
  const at::Tensor later = at::ones({n, n}, x.options().dtype(at::kBool)).triu();  // j >= i is not a neighbour
  dist = dist.masked_fill(later, std::numeric_limits<double>::infinity());
  auto [nd, ni] = at::topk(dist, kk, -1, /*largest=*/false, /*sorted=*/true);  // (B, n, kk)
  const at::Tensor valid = at::isfinite(nd);                                  // min(i, k) of them per row
  const at::Tensor yn = y.unsqueeze(1).expand({B, n, n}).gather(2, ni);
  at::Tensor wts;
  if (distance_weighted) {
    const at::Tensor zero = at::logical_and(nd == 0, valid);
    const at::Tensor any_zero = zero.any(-1, /*keepdim=*/true);
    // Safe denominators so that neither the forward nor the backward pass ever sees 1/0 or 1/inf.
    const at::Tensor safe = at::where(at::logical_and(valid, nd > 0), nd, at::ones_like(nd));
    const at::Tensor inv = at::where(at::logical_and(valid, nd > 0), 1.0 / safe, at::zeros_like(nd));
    wts = at::where(any_zero, zero.to(x.scalar_type()), inv);
  } else {
    wts = valid.to(x.scalar_type());
  }
  const at::Tensor num = (wts * yn).sum(-1), den = wts.sum(-1);
  return at::where(den > 0, num / at::where(den > 0, den, at::ones_like(den)), at::zeros_like(den));
}

at::Tensor prefix_boosted_trees(const at::Tensor& x, const at::Tensor& y, const std::optional<at::Tensor>& queries,
                                int64_t rounds, int64_t max_depth, double eta, double lambda, double min_child_weight,
                                double base_score) {
  const char* op = "prefix_boosted_trees";
  const at::Tensor q = check_prefix_args(op, x, y, queries);
  if (!x.is_cpu()) detail::fail(op, "argument 'x' is on " + x.device().str() + "; this op runs on the CPU only");
  if (rounds < 0) detail::fail(op, "argument 'rounds' must be >= 0; got " + std::to_string(rounds));
  if (max_depth < 1 || max_depth > 20)
    detail::fail(op, "argument 'max_depth' must lie in [1, 20] (the exact method grows a full level per depth); got " +
                         std::to_string(max_depth));
  if (!(eta > 0) || !(lambda >= 0) || !(min_child_weight >= 0) || !std::isfinite(base_score))
    detail::fail(op, "eta must be > 0, lambda and min_child_weight >= 0 and base_score finite; got eta " +
                         std::to_string(eta) + ", lambda " + std::to_string(lambda) + ", min_child_weight " +
                         std::to_string(min_child_weight) + ", base_score " + std::to_string(base_score));
  if (lambda == 0 && min_child_weight == 0)
    detail::fail(op, "lambda and min_child_weight cannot both be 0 (empty sides would divide by zero)");
  const int64_t B = x.size(0), n = x.size(1), d = x.size(2);
  // XGBoost reads its data as float32.
  const at::Tensor xf = x.to(at::kFloat).contiguous(), yf = y.to(at::kFloat).contiguous();
  const at::Tensor qf = q.to(at::kFloat).contiguous();
  at::Tensor out = at::zeros({B, n}, x.options().dtype(at::kFloat));
  const float* xp = xf.data_ptr<float>();
  const float* yp = yf.data_ptr<float>();
  const float* qp = qf.data_ptr<float>();
  float* op_out = out.data_ptr<float>();
  const gbdt::Config c{static_cast<int>(rounds), static_cast<int>(max_depth), static_cast<float>(eta),
                       static_cast<float>(lambda), static_cast<float>(min_child_weight),
                       static_cast<float>(base_score)};
  // One task per (prompt, prefix k >= 1); prompts are contiguous ranges, so each thread gets whole prompts.
  at::parallel_for(0, B * (n - 1), 1, [&](int64_t begin, int64_t end) {
    gbdt::Fitter fitter;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / (n - 1), k = t % (n - 1) + 1;
      fitter.fit_predict(xp + b * n * d, yp + b * n, static_cast<int>(k), static_cast<int>(d), qp + (b * n + k) * d, 1,
                         c, op_out + b * n + k);
    }
  });
  if (!std::isfinite(out.abs().max().item<float>()))
    detail::fail_runtime(op, "a booster produced a non-finite prediction");
  return out.to(x.scalar_type());
}

}  // namespace incontext

// prefix_lstsq: argument checks, dispatch and the autograd Function. Kernels live in native/ops/prefix_lstsq.
//
// Forward: the fast incremental kernel (CPU: prefix_lstsq_fast.cpp; CUDA: prefix_lstsq_cuda.cu) for
// prefix_lstsq, the per-prefix SVD/Cholesky reference for prefix_lstsq_reference.
// Backward: the float64 CPU reference backward for both (CUDA tensors are copied to the CPU for it); gradients
// flow into x, y and the queries, not into lambda. Returned weight vectors carry no gradient (marked
// non-differentiable), so a loss built on them fails loudly in backward instead of silently getting zeros.
#include <cmath>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "checks.h"
#include "incontext/ops.h"
#include "prefix_lstsq/prefix_lstsq.h"
#ifdef INCONTEXT_WITH_CUDA
#include "prefix_lstsq_cuda.h"
#endif

namespace incontext {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr const char* kOp = "prefix_lstsq";

template <class T>
lstsq::FwdParams<T> fwd_params(const at::Tensor& x, const at::Tensor& y, const at::Tensor& q,
                               const at::Tensor& lambda, at::Tensor& pred, at::Tensor& w) {
  return {x.data_ptr<T>(), y.data_ptr<T>(),  q.defined() ? q.data_ptr<T>() : nullptr, lambda.data_ptr<double>(),
          pred.data_ptr<T>(), w.defined() ? w.data_ptr<T>() : nullptr, x.size(0), x.size(1), x.size(2)};
}

template <class T>
void forward_cpu(const at::Tensor& x, const at::Tensor& y, const at::Tensor& q, const at::Tensor& lambda,
                 at::Tensor& pred, at::Tensor& w, bool reference) {
  const lstsq::FwdParams<T> p = fwd_params<T>(x, y, q, lambda, pred, w);
  if (reference) {
    // Each prompt costs O(n^2 d^2) or more, so single-prompt grains balance well.
    at::parallel_for(0, p.B, 1, [&](int64_t b0, int64_t b1) { lstsq::forward_reference(p, b0, b1); });
    return;
  }
  // Minimum-norm and ridge prompts run different recursions; group each kind into SIMD lane groups.
  std::vector<int64_t> idx[2];
  const double* lam = lambda.data_ptr<double>();
  for (int64_t b = 0; b < p.B; ++b) idx[lam[b] > 0.0 ? 1 : 0].push_back(b);
  const int64_t L = lstsq::fast_lanes();
  for (int kind = 0; kind < 2; ++kind) {
    const int64_t len = static_cast<int64_t>(idx[kind].size());
    const int64_t groups = (len + L - 1) / L;
    at::parallel_for(0, groups, 1, [&](int64_t g0, int64_t g1) {
      lstsq::forward_fast(p, idx[kind].data(), g0 * L, std::min(g1 * L, len), kind == 1);
    });
  }
}

template <class T>
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward_cpu(const at::Tensor& x, const at::Tensor& y,
                                                            const at::Tensor& q, const at::Tensor& lambda,
                                                            const at::Tensor& g) {
  at::Tensor gx = at::empty_like(x), gy = at::empty_like(y), gq = q.defined() ? at::empty_like(q) : at::Tensor();
  lstsq::BwdParams<T> p{x.data_ptr<T>(),   y.data_ptr<T>(),  q.defined() ? q.data_ptr<T>() : nullptr,
                        lambda.data_ptr<double>(), g.data_ptr<T>(), gx.data_ptr<T>(), gy.data_ptr<T>(),
                        gq.defined() ? gq.data_ptr<T>() : nullptr, x.size(0), x.size(1), x.size(2)};
  at::parallel_for(0, p.B, 1, [&](int64_t b0, int64_t b1) { lstsq::backward_reference(p, b0, b1); });
  return {gx, gy, gq};
}

// lambda_cpu: contiguous float64 (B) on the CPU. Returns {pred} or {pred, weights}.
std::vector<at::Tensor> forward_impl(const at::Tensor& x, const at::Tensor& y, const at::Tensor& q,
                                     const at::Tensor& lambda_cpu, bool want_weights, bool reference) {
  if (x.is_cuda() && !reference) {
#ifdef INCONTEXT_WITH_CUDA
    auto [pred, w] = detail::prefix_lstsq_forward_cuda(x, y, q, lambda_cpu, want_weights);
    return want_weights ? std::vector<at::Tensor>{pred, w} : std::vector<at::Tensor>{pred};
#else
    detail::fail(kOp, "got CUDA tensors, but this build of incontext has no CUDA kernels. Build with nvcc on PATH "
                      "against a CUDA libtorch (Maven profile -Pgpu, or CMake -DINCONTEXT_TORCH_PACKAGE=ON with a "
                      "CUDA PyTorch), or use prefix_lstsq_reference, which solves on the CPU");
#endif
  }
  // CPU, or the reference on CUDA inputs: solved on the CPU and copied back.
  const at::Tensor xc = x.cpu(), yc = y.cpu(), qc = q.defined() ? q.cpu() : at::Tensor();
  at::Tensor pred = at::empty_like(yc);
  at::Tensor w = want_weights ? at::empty_like(xc) : at::Tensor();
  if (x.scalar_type() == at::kDouble) forward_cpu<double>(xc, yc, qc, lambda_cpu, pred, w, reference);
  else forward_cpu<float>(xc, yc, qc, lambda_cpu, pred, w, reference);
  if (want_weights) return {pred.to(x.device()), w.to(x.device())};
  return {pred.to(x.device())};
}

struct PrefixLstsqFunction : public torch::autograd::Function<PrefixLstsqFunction> {
  // Without separate queries (has_q false), q_or_empty is an empty placeholder: autograd::Function records
  // every tensor argument and refuses undefined ones. lambda_cpu is a float64 (B) CPU tensor without gradient.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& y,
                               const at::Tensor& q_or_empty, bool has_q, const at::Tensor& lambda_cpu,
                               bool want_weights, bool reference) {
    const at::Tensor q = has_q ? q_or_empty : at::Tensor();
    ctx->save_for_backward({x, y, q_or_empty, lambda_cpu});
    ctx->saved_data["has_q"] = has_q;
    std::vector<at::Tensor> out = forward_impl(x, y, q, lambda_cpu, want_weights, reference);
    if (want_weights) ctx->mark_non_differentiable({out[1]});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &y = saved[1], &lambda_cpu = saved[3];
    const at::Tensor q = ctx->saved_data["has_q"].toBool() ? saved[2] : at::Tensor();
    if (!grads[0].defined())
      return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    const at::Tensor gc = grads[0].to(x.options()).contiguous().cpu();
    const at::Tensor xc = x.cpu(), yc = y.cpu(), qc = q.defined() ? q.cpu() : at::Tensor();
    auto [gx, gy, gq] = x.scalar_type() == at::kDouble ? backward_cpu<double>(xc, yc, qc, lambda_cpu, gc)
                                                       : backward_cpu<float>(xc, yc, qc, lambda_cpu, gc);
    return {gx.to(x.device()), gy.to(y.device()), gq.defined() ? gq.to(q.device()) : at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Validates lambda (a 0-D tensor or one value per prompt, finite, >= 0) and returns it as float64 (B) on the CPU.
at::Tensor lambda_per_prompt(const at::Tensor& lambda, int64_t B) {
  using detail::fail;
  if (!lambda.defined()) fail(kOp, "argument 'lambda' is an undefined tensor");
  if (!at::isFloatingType(lambda.scalar_type()))
    fail(kOp, std::string("argument 'lambda' must be a floating-point tensor; got ") + c10::toString(lambda.scalar_type()));
  if (!(lambda.dim() == 0 || (lambda.dim() == 1 && (lambda.size(0) == B || lambda.size(0) == 1))))
    fail(kOp, "argument 'lambda' must be a scalar (0-D tensor) or have shape (B) = [" + std::to_string(B) +
                  "] (one value per prompt); got shape " + detail::shape_str(lambda.sizes()));
  const at::Tensor l = lambda.detach().to(at::kCPU, at::kDouble).reshape({-1}).expand({B}).contiguous();
  const double* v = l.data_ptr<double>();
  for (int64_t b = 0; b < B; ++b)
    if (!(std::isfinite(v[b]) && v[b] >= 0.0))
      fail(kOp, "argument 'lambda' must be finite and >= 0 (0 = minimum-norm least squares, > 0 = ridge); got " +
                    std::to_string(v[b]) + (lambda.dim() ? " for prompt " + std::to_string(b) : std::string()));
  return l;
}

std::vector<at::Tensor> prefix_lstsq_checked(const at::Tensor& x, const at::Tensor& y, const at::Tensor& lambda,
                                             const std::optional<at::Tensor>& queries, bool want_weights,
                                             bool reference) {
  using detail::fail;
  detail::check_rank(x, kOp, "x", 3, "(B, n, d)");
  detail::check_rank(y, kOp, "y", 2, "(B, n)");
  detail::check_dtype(x, kOp, "x", {at::kFloat, at::kDouble});
  detail::check_like(y, kOp, "y", x, "x");
  if (y.size(0) != x.size(0) || y.size(1) != x.size(1))
    fail(kOp, "argument 'y' must have shape (B, n) = " + detail::shape_str({x.size(0), x.size(1)}) +
                  " to match 'x' of shape " + detail::shape_str(x.sizes()) + "; got " + detail::shape_str(y.sizes()));
  if (x.size(1) < 1) fail(kOp, "the number of points n (dim 1 of 'x') must be at least 1; got shape " + detail::shape_str(x.sizes()));
  if (x.size(2) < 1) fail(kOp, "the dimension d (dim 2 of 'x') must be at least 1; got shape " + detail::shape_str(x.sizes()));
  at::Tensor q;
  if (queries.has_value() && queries->defined()) {
    q = *queries;
    detail::check_rank(q, kOp, "queries", 3, "(B, n, d)");
    detail::check_like(q, kOp, "queries", x, "x");
    if (q.sizes() != x.sizes())
      fail(kOp, "argument 'queries' must have the shape of 'x' " + detail::shape_str(x.sizes()) + "; got " +
                    detail::shape_str(q.sizes()));
    q = q.contiguous();
  }
  const at::Tensor lambda_cpu = lambda_per_prompt(lambda, x.size(0));
  // Every input must be finite, and the recursions square entries (norms, Givens radii): keep them far from
  // overflow so that a huge input is an error, not a silently zero prediction. float32 state on CUDA overflows at
  // about 1.8e19 squared. One vectorised min/max pass per input answers both (a NaN or an infinity makes min or
  // max non-finite; only then does the exact search run, to name the element).
  const double limit = (x.is_cuda() && x.scalar_type() == at::kFloat) ? 1e18 : 1e150;
  for (const auto& [t, name] : {std::pair<const at::Tensor*, const char*>{&x, "x"}, {&y, "y"}, {&q, "queries"}}) {
    if (!t->defined() || t->numel() == 0) continue;
    const auto [lo_t, hi_t] = at::aminmax(*t);
    const double lo = lo_t.item<double>(), hi = hi_t.item<double>();
    if (!std::isfinite(lo) || !std::isfinite(hi)) detail::check_finite(*t, kOp, name);
    const double m = std::max(-lo, hi);
    if (m > limit)
      fail(kOp, std::string("argument '") + name + "' has entries of magnitude " + std::to_string(m) +
                    ", too large in magnitude for the solver (limit " + std::to_string(limit) +
                    "); rescale the inputs (for example to unit variance)");
  }
  const bool has_q = q.defined();
  std::vector<at::Tensor> out = PrefixLstsqFunction::apply(x.contiguous(), y.contiguous(),
                                                           has_q ? q : at::empty({0}, x.options()), has_q,
                                                           lambda_cpu, want_weights, reference);
  // Finite inputs can still overflow float64/float32 (entries near the largest representable value).
  if (x.numel() > 0 && !at::isfinite(out[0]).all().item<bool>())
    detail::fail_runtime(kOp, "the result overflowed (non-finite predictions from finite inputs); rescale 'x' and 'y' to a "
              "moderate range (for example unit variance)");
  return out;
}

at::Tensor scalar_lambda(double lambda) {
  if (!(std::isfinite(lambda) && lambda >= 0.0))
    detail::fail(kOp, "argument 'lambda' must be finite and >= 0 (0 = minimum-norm least squares, > 0 = ridge); got " +
                          std::to_string(lambda));
  return at::scalar_tensor(lambda, at::TensorOptions().dtype(at::kDouble));
}

}  // namespace

at::Tensor prefix_lstsq(const at::Tensor& x, const at::Tensor& y, double lambda) {
  return prefix_lstsq_checked(x, y, scalar_lambda(lambda), std::nullopt, false, false)[0];
}

at::Tensor prefix_lstsq(const at::Tensor& x, const at::Tensor& y, const at::Tensor& lambda,
                        const std::optional<at::Tensor>& queries) {
  return prefix_lstsq_checked(x, y, lambda, queries, false, false)[0];
}

std::tuple<at::Tensor, at::Tensor> prefix_lstsq_with_weights(const at::Tensor& x, const at::Tensor& y,
                                                             const at::Tensor& lambda,
                                                             const std::optional<at::Tensor>& queries) {
  auto out = prefix_lstsq_checked(x, y, lambda, queries, true, false);
  return {out[0], out[1]};
}

at::Tensor prefix_lstsq_reference(const at::Tensor& x, const at::Tensor& y, double lambda) {
  return prefix_lstsq_checked(x, y, scalar_lambda(lambda), std::nullopt, false, true)[0];
}

at::Tensor prefix_lstsq_reference(const at::Tensor& x, const at::Tensor& y, const at::Tensor& lambda,
                                  const std::optional<at::Tensor>& queries) {
  return prefix_lstsq_checked(x, y, lambda, queries, false, true)[0];
}

std::tuple<at::Tensor, at::Tensor> prefix_lstsq_with_weights_reference(const at::Tensor& x, const at::Tensor& y,
                                                                       const at::Tensor& lambda,
                                                                       const std::optional<at::Tensor>& queries) {
  auto out = prefix_lstsq_checked(x, y, lambda, queries, true, true);
  return {out[0], out[1]};
}

}  // namespace incontext

// prefix_lstsq: argument checks, dispatch and the autograd Function. Kernels live in native/ops/prefix_lstsq.
#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "checks.h"
#include "incontext/ops.h"
#include "prefix_lstsq/prefix_lstsq.h"

namespace incontext {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr const char* kOp = "prefix_lstsq";

// Prompts per parallel task: each costs O(n^2 d^2) or more, so small grains balance well.
constexpr int64_t kGrain = 1;

template <class T>
at::Tensor forward_cpu(const at::Tensor& x, const at::Tensor& y, double lambda) {
  at::Tensor pred = at::empty_like(y);
  lstsq::FwdParams<T> p{x.data_ptr<T>(), y.data_ptr<T>(), pred.data_ptr<T>(), x.size(0), x.size(1), x.size(2), lambda};
  at::parallel_for(0, p.B, kGrain, [&](int64_t b0, int64_t b1) { lstsq::forward_reference(p, b0, b1); });
  return pred;
}

template <class T>
std::tuple<at::Tensor, at::Tensor> backward_cpu(const at::Tensor& x, const at::Tensor& y, const at::Tensor& g,
                                               double lambda) {
  at::Tensor gx = at::empty_like(x), gy = at::empty_like(y);
  lstsq::BwdParams<T> p{x.data_ptr<T>(), y.data_ptr<T>(), g.data_ptr<T>(), gx.data_ptr<T>(), gy.data_ptr<T>(),
                        x.size(0),       x.size(1),       x.size(2),       lambda};
  at::parallel_for(0, p.B, kGrain, [&](int64_t b0, int64_t b1) { lstsq::backward_reference(p, b0, b1); });
  return {gx, gy};
}

at::Tensor forward_impl(const at::Tensor& x, const at::Tensor& y, double lambda) {
  // The reference runs in float64 on the CPU; CUDA inputs are solved there and copied back.
  const at::Tensor xc = x.cpu(), yc = y.cpu();
  at::Tensor pred = x.scalar_type() == at::kDouble ? forward_cpu<double>(xc, yc, lambda) : forward_cpu<float>(xc, yc, lambda);
  return pred.to(x.device());
}

struct PrefixLstsqFunction : public torch::autograd::Function<PrefixLstsqFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& y, double lambda) {
    ctx->save_for_backward({x, y});
    ctx->saved_data["lambda"] = lambda;
    return forward_impl(x, y, lambda);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const double lambda = ctx->saved_data["lambda"].toDouble();
    const at::Tensor &x = saved[0], &y = saved[1];
    const at::Tensor g = grads[0].to(x.options()).contiguous();
    const at::Tensor xc = x.cpu(), yc = y.cpu(), gc = g.cpu();
    auto [gx, gy] = x.scalar_type() == at::kDouble ? backward_cpu<double>(xc, yc, gc, lambda)
                                                   : backward_cpu<float>(xc, yc, gc, lambda);
    return {gx.to(x.device()), gy.to(y.device()), at::Tensor()};
  }
};

at::Tensor prefix_lstsq_checked(const at::Tensor& x, const at::Tensor& y, double lambda) {
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
  if (!(std::isfinite(lambda) && lambda >= 0.0))
    fail(kOp, "argument 'lambda' must be finite and >= 0 (0 = minimum-norm least squares, > 0 = ridge); got " +
                  std::to_string(lambda));
  detail::check_finite(x, kOp, "x");
  detail::check_finite(y, kOp, "y");
  return PrefixLstsqFunction::apply(x.contiguous(), y.contiguous(), lambda);
}

}  // namespace

at::Tensor prefix_lstsq(const at::Tensor& x, const at::Tensor& y, double lambda) {
  return prefix_lstsq_checked(x, y, lambda);
}

at::Tensor prefix_lstsq_reference(const at::Tensor& x, const at::Tensor& y, double lambda) {
  return prefix_lstsq_checked(x, y, lambda);
}

}  // namespace incontext

// relu_net_loss and relu_net_adam_step: argument checks and the threading of the CPU kernel (relu_net/relu_net.h).
// Not differentiable (the step computes its own gradients); relu_net_adam_step updates params, exp_avg and
// exp_avg_sq in place. CPU float32 only: on other devices the caller composes the same computation from tensor ops
// (dev.incontext.eval.baselines.ReluNetGD does).
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "checks.h"
#include "incontext/ops.h"
#include "relu_net/relu_net.h"

namespace incontext {
namespace {

void check_block(const at::Tensor& t, const char* op, const char* arg, int64_t C, int64_t nets, int64_t S,
                 int64_t d, int64_t hidden) {
  detail::check_rank(t, op, arg, 3, "(C, nets, S)");
  if (t.size(0) != C || t.size(1) != nets || t.size(2) != S)
    detail::fail(op, std::string("argument '") + arg + "' must have shape (C, nets, S) = " +
                         detail::shape_str({C, nets, S}) + " (S = d hidden + 2 hidden + 1 with d = " +
                         std::to_string(d) + ", hidden = " + std::to_string(hidden) + "); got " +
                         detail::shape_str(t.sizes()));
}

void check_cpu_f32_contiguous(const at::Tensor& t, const char* op, const char* arg) {
  if (!t.is_cpu())
    detail::fail(op, std::string("argument '") + arg + "' is on " + t.device().str() +
                         "; this op runs on the CPU only (compose it from tensor ops elsewhere)");
  detail::check_dtype(t, op, arg, {at::kFloat});
  if (!t.is_contiguous()) detail::fail(op, std::string("argument '") + arg + "' must be contiguous");
}

// Checks every argument; returns (C, r, d, nets).
std::vector<int64_t> check_args(const char* op, const at::Tensor& x, const at::Tensor& y, const at::Tensor& mask,
                                const at::Tensor& params, int64_t hidden) {
  detail::check_rank(x, op, "x", 3, "(C, r, d)");
  detail::check_rank(y, op, "y", 2, "(C, r)");
  detail::check_rank(mask, op, "mask", 3, "(C, nets, r)");
  check_cpu_f32_contiguous(x, op, "x");
  check_cpu_f32_contiguous(y, op, "y");
  check_cpu_f32_contiguous(mask, op, "mask");
  const int64_t C = x.size(0), r = x.size(1), d = x.size(2), nets = mask.size(1);
  if (hidden < 1) detail::fail(op, "argument 'hidden' must be at least 1; got " + std::to_string(hidden));
  if (d < 1 || r < 1) detail::fail(op, "argument 'x' must have at least one row and one input; got shape " +
                                           detail::shape_str(x.sizes()));
  if (r >= (int64_t{1} << 31)) detail::fail(op, "argument 'x' has too many rows: " + std::to_string(r));
  if (y.size(0) != C || y.size(1) != r)
    detail::fail(op, "argument 'y' must have shape (C, r) = " + detail::shape_str({C, r}) + " to match 'x' of shape " +
                         detail::shape_str(x.sizes()) + "; got " + detail::shape_str(y.sizes()));
  if (mask.size(0) != C || mask.size(2) != r)
    detail::fail(op, "argument 'mask' must have shape (C, nets, r) with C = " + std::to_string(C) + " and r = " +
                         std::to_string(r) + " to match 'x' of shape " + detail::shape_str(x.sizes()) + "; got " +
                         detail::shape_str(mask.sizes()));
  detail::check_finite(x, op, "x");
  detail::check_finite(y, op, "y");
  detail::check_finite(mask, op, "mask");
  if (mask.numel() > 0 && mask.min().item<float>() < 0)
    detail::fail(op, "argument 'mask' holds a negative weight; row weights must be >= 0");
  check_cpu_f32_contiguous(params, op, "params");
  check_block(params, op, "params", C, nets, relunet::block_size(d, hidden), d, hidden);
  return {C, r, d, nets};
}

at::Tensor run(const char* op, const at::Tensor& x, const at::Tensor& y, const at::Tensor& mask,
               const at::Tensor& params, float* exp_avg, float* exp_avg_sq, int64_t hidden, int64_t step, double lr,
               double beta1, double beta2, double eps) {
  const std::vector<int64_t> s = check_args(op, x, y, mask, params, hidden);
  const int64_t C = s[0], r = s[1], d = s[2], nets = s[3];
  at::Tensor loss = at::empty({C, nets}, x.options());
  const relunet::Params p{x.data_ptr<float>(), y.data_ptr<float>(), mask.data_ptr<float>(), params.data_ptr<float>(),
                          exp_avg, exp_avg_sq, loss.data_ptr<float>(), C, r, d, hidden, nets, step, lr, beta1,
                          beta2, eps};
  const int64_t scratch = relunet::scratch_size(d, hidden, r);
  // One net costs about 4 d hidden flops per row: a few nets per task.
  const int64_t grain = std::max<int64_t>(1, 200000 / std::max<int64_t>(1, 4 * d * hidden * r));
  at::parallel_for(0, C * nets, grain, [&](int64_t b, int64_t e) {
    std::vector<float> buf(static_cast<size_t>(scratch));
    relunet::step(p, b, e, buf.data());
  });
  return loss;
}

}  // namespace

at::Tensor relu_net_loss(const at::Tensor& x, const at::Tensor& y, const at::Tensor& mask, const at::Tensor& params,
                         int64_t hidden) {
  return run("relu_net_loss", x, y, mask, params, nullptr, nullptr, hidden, 1, 0.0, 0.9, 0.999, 1e-8);
}

at::Tensor relu_net_adam_step(const at::Tensor& x, const at::Tensor& y, const at::Tensor& mask,
                              const at::Tensor& params, const at::Tensor& exp_avg, const at::Tensor& exp_avg_sq,
                              int64_t hidden, int64_t step, double lr, double beta1, double beta2, double eps) {
  const char* op = "relu_net_adam_step";
  check_cpu_f32_contiguous(exp_avg, op, "exp_avg");
  check_cpu_f32_contiguous(exp_avg_sq, op, "exp_avg_sq");
  if (exp_avg.sizes() != params.sizes() || exp_avg_sq.sizes() != params.sizes())
    detail::fail(op, "arguments 'exp_avg' and 'exp_avg_sq' must have the shape of 'params' " +
                         detail::shape_str(params.sizes()) + "; got " + detail::shape_str(exp_avg.sizes()) + " and " +
                         detail::shape_str(exp_avg_sq.sizes()));
  if (step < 1) detail::fail(op, "argument 'step' (Adam's step number) must be at least 1; got " + std::to_string(step));
  if (!(lr > 0) || !std::isfinite(lr)) detail::fail(op, "argument 'lr' must be finite and > 0; got " + std::to_string(lr));
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0))
    detail::fail(op, "Adam's betas must lie in [0, 1) and eps must be > 0; got " + std::to_string(beta1) + ", " +
                         std::to_string(beta2) + ", " + std::to_string(eps));
  return run(op, x, y, mask, params, exp_avg.data_ptr<float>(), exp_avg_sq.data_ptr<float>(), hidden, step, lr, beta1,
             beta2, eps);
}

}  // namespace incontext

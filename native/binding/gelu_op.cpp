// The gelu_tanh op: argument checks, the autograd function (the gradient recomputes from the saved input), and the
// CPU float32 kernel (gelu/gelu.h); other dtypes and devices run libtorch's gelu(x, "tanh") with its own autograd.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "checks.h"
#include "gelu/gelu.h"
#include "incontext/ops.h"

namespace incontext {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr const char* kOp = "gelu_tanh";
// Elements per task: a few tens of microseconds of work, so small tensors stay on one thread.
constexpr int64_t kGrain = 32768;

at::Tensor forward_cpu(const at::Tensor& x_in) {
  const at::Tensor x = x_in.contiguous();
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { gelu::forward(xp, yp, b, e); });
  return y;
}

at::Tensor backward_cpu(const at::Tensor& dy_in, const at::Tensor& x) {
  const at::Tensor dy = dy_in.contiguous();
  at::Tensor dx = at::empty_like(x, at::MemoryFormat::Contiguous);
  const float* dyp = dy.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  float* dxp = dx.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { gelu::backward(dyp, xp, dxp, b, e); });
  return dx;
}

struct GeluFunction : public torch::autograd::Function<GeluFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    const at::Tensor xc = x.contiguous();
    ctx->save_for_backward({xc});
    return forward_cpu(xc);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    // The gradient of the gradient (double backward) is not implemented by the kernel: compose it from ATen ops.
    if (at::GradMode::is_enabled()) {
      const at::Tensor x = saved[0];
      return {at::gelu_backward(grads[0], x, "tanh")};
    }
    return {backward_cpu(grads[0], saved[0])};
  }
};

void check_args(const at::Tensor& x) {
  if (!x.defined()) detail::fail(kOp, "argument 'x' is an undefined tensor");
  if (!at::isFloatingType(x.scalar_type()))
    detail::fail(kOp, std::string("argument 'x' must be a floating-point tensor; got ") +
                          c10::toString(x.scalar_type()) + " on " + x.device().str());
}

}  // namespace

at::Tensor gelu_tanh(const at::Tensor& x) {
  check_args(x);
  if (x.is_cpu() && x.scalar_type() == at::kFloat) return GeluFunction::apply(x);
  return at::gelu(x, "tanh");
}

at::Tensor gelu_tanh_reference(const at::Tensor& x) {
  check_args(x);
  return at::gelu(x, "tanh");
}

}  // namespace incontext

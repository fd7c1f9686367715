// The gelu_tanh op: argument checks, the autograd function (the gradient recomputes from the saved input), and the
// CPU float32 / bfloat16 kernel (gelu/gelu.h); other dtypes and devices run libtorch's gelu(x, "tanh") with its own
// autograd.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <type_traits>
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

// The kernel's storage type for a float32 or bfloat16 tensor (bfloat16 as its 16 bits).
template <class F>
void with_storage(const at::Tensor& t, F&& f) {
  if (t.scalar_type() == at::kFloat) f(static_cast<float*>(nullptr));
  else f(static_cast<uint16_t*>(nullptr));
}

// x contiguous (the autograd function saves the contiguous input it passes here).
at::Tensor forward_cpu(const at::Tensor& x) {
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  with_storage(x, [&](auto* tag) {
    using S = std::remove_pointer_t<decltype(tag)>;
    const S* xp = static_cast<const S*>(x.data_ptr());
    S* yp = static_cast<S*>(y.data_ptr());
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { gelu::forward(xp, yp, b, e); });
  });
  return y;
}

at::Tensor backward_cpu(const at::Tensor& dy_in, const at::Tensor& x) {
  const at::Tensor dy = dy_in.to(x.scalar_type()).contiguous();
  at::Tensor dx = at::empty_like(x, at::MemoryFormat::Contiguous);
  with_storage(x, [&](auto* tag) {
    using S = std::remove_pointer_t<decltype(tag)>;
    const S* dyp = static_cast<const S*>(dy.data_ptr());
    const S* xp = static_cast<const S*>(x.data_ptr());
    S* dxp = static_cast<S*>(dx.data_ptr());
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { gelu::backward(dyp, xp, dxp, b, e); });
  });
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
  if (x.is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16)) return GeluFunction::apply(x);
  return at::gelu(x, "tanh");
}

}  // namespace incontext

// The rope op: argument checks, the autograd function (the gradient is the inverse rotation), and the CPU kernel
// or, on other devices, the same formula composed of ATen ops.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "checks.h"
#include "incontext/ops.h"
#include "rope/rope.h"

namespace incontext {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr const char* kOp = "rope";

// The formula of rope.h with ATen ops: x cos + rot(x) sin, rot pairing (x_2j, x_2j+1) -> (-x_2j+1, x_2j); the inverse
// is x cos + rot^T(x sin) with rot^T pairing (y_2j, y_2j+1) -> (y_2j+1, -y_2j).
at::Tensor rotate_composite(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool inverse) {
  auto pairs = [](const at::Tensor& t) { return t.unflatten(-1, {t.size(-1) / 2, 2}); };
  if (!inverse) {
    const at::Tensor xp = pairs(x);
    const at::Tensor rot = at::stack({xp.select(-1, 1).neg(), xp.select(-1, 0)}, -1).flatten(-2);
    return (x * cos + rot * sin).contiguous();
  }
  const at::Tensor ys = pairs(x * sin);
  const at::Tensor rot_t = at::stack({ys.select(-1, 1), ys.select(-1, 0).neg()}, -1).flatten(-2);
  return (x * cos + rot_t).contiguous();
}

template <class T>
at::Tensor rotate_cpu(const at::Tensor& x_in, const at::Tensor& cos, const at::Tensor& sin, bool inverse) {
  const at::Tensor x = x_in.stride(3) == 1 ? x_in : x_in.contiguous();
  at::Tensor out = at::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
  const rotary::Params<T> p{x.data_ptr<T>(), x.stride(0), x.stride(1), x.stride(2), cos.data_ptr<T>(),
                          sin.data_ptr<T>(), out.data_ptr<T>(), x.size(0), x.size(1), x.size(2), x.size(3), inverse};
  // About 4 D flops per row: rows in chunks of a few thousand elements per task.
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, p.D));
  at::parallel_for(0, p.B * p.H * p.T_, grain, [&](int64_t b, int64_t e) { rotary::rotate_rows(p, b, e); });
  return out;
}

at::Tensor rotate(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool inverse) {
  if (!x.is_cpu()) return rotate_composite(x, cos, sin, inverse);
  const at::Tensor c = cos.contiguous(), s = sin.contiguous();
  return x.scalar_type() == at::kDouble ? rotate_cpu<double>(x, c, s, inverse) : rotate_cpu<float>(x, c, s, inverse);
}

struct RopeFunction : public torch::autograd::Function<RopeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rotate(x, cos, sin, false);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {rotate(grads[0], saved[0], saved[1], true), at::Tensor(), at::Tensor()};
  }
};

void check_args(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  using detail::fail;
  detail::check_rank(x, kOp, "x", 4, "(B, H, T, D)");
  detail::check_rank(cos, kOp, "cos", 2, "(T, D)");
  detail::check_rank(sin, kOp, "sin", 2, "(T, D)");
  if (x.is_cpu()) {
    detail::check_dtype(x, kOp, "x", {at::kFloat, at::kDouble});
  } else if (x.is_cuda()) {
    detail::check_dtype(x, kOp, "x", {at::kFloat, at::kDouble, at::kBFloat16, at::kHalf});
  } else {
    fail(kOp, "argument 'x' is on " + x.device().str() + "; supported devices are cpu and cuda");
  }
  detail::check_like(cos, kOp, "cos", x, "x");
  detail::check_like(sin, kOp, "sin", x, "x");
  if (x.size(3) % 2 != 0)
    fail(kOp, "the head dimension D (dim 3 of 'x') must be even to rotate pairs; got shape " + detail::shape_str(x.sizes()));
  const std::vector<int64_t> table{x.size(2), x.size(3)};
  if (cos.sizes() != at::IntArrayRef(table) || sin.sizes() != at::IntArrayRef(table))
    fail(kOp, "arguments 'cos' and 'sin' must be (T, D) = " + detail::shape_str(table) + " for 'x' of shape " +
                  detail::shape_str(x.sizes()) + "; got " + detail::shape_str(cos.sizes()) + " and " +
                  detail::shape_str(sin.sizes()));
  if (cos.requires_grad() || sin.requires_grad())
    fail(kOp, "the tables 'cos' and 'sin' are constants; they must not require grad");
}

}  // namespace

at::Tensor rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  // A bfloat16 / float16 x (mixed-precision training) may come with float32 tables: on the CPU the float32 kernel
  // runs on the widened x and the result is rounded back once; elsewhere the tables are rounded to x's dtype.
  const bool low = x.defined() && (x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf);
  if (low && cos.defined() && sin.defined() && cos.scalar_type() == at::kFloat && sin.scalar_type() == at::kFloat &&
      cos.device() == x.device() && sin.device() == x.device()) {
    if (x.is_cpu()) {
      check_args(x.to(at::kFloat), cos, sin);
      return RopeFunction::apply(x.to(at::kFloat), cos, sin).to(x.scalar_type());
    }
    check_args(x, cos.to(x.scalar_type()), sin.to(x.scalar_type()));
    return RopeFunction::apply(x, cos.to(x.scalar_type()), sin.to(x.scalar_type()));
  }
  if (low && x.is_cpu()) {
    check_args(x.to(at::kFloat), cos.to(at::kFloat), sin.to(at::kFloat));
    return RopeFunction::apply(x.to(at::kFloat), cos.to(at::kFloat), sin.to(at::kFloat)).to(x.scalar_type());
  }
  check_args(x, cos, sin);
  return RopeFunction::apply(x, cos, sin);
}

at::Tensor rope_reference(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  check_args(x, cos, sin);
  // Plain autograd through the composed formula (the op's non-CPU path): what the kernel and its gradient are
  // tested against.
  return rotate_composite(x, cos, sin, false);
}

}  // namespace incontext

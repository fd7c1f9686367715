// attention: argument checks, CPU/CUDA dispatch and the autograd Function. The only torch-aware code of the
// op; kernels live in native/ops/attention and see plain structs.
#include <atomic>
#include <cmath>
#include <tuple>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "attention/attention.h"
#include "checks.h"
#include "cuda_dispatch.h"
#include "incontext/ops.h"

namespace incontext {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr const char* kOp = "attention";

// The kernels' strides of a (B, H, T, D) tensor whose head dimension is contiguous.
attn::Strides strides_of(const at::Tensor& t) { return {t.stride(0), t.stride(1), t.stride(2)}; }

// Whether t is a head view of a (B, T, ...) tensor: heads inner to time in memory, as after
// x.view(B, T, H, D).transpose(1, 2).
bool heads_inside_time(const at::Tensor& t) { return t.size(2) > 1 && t.stride(1) < t.stride(2); }

// A fresh (B, H, T, D) tensor like q. For head views the memory is (B, T, H, D), so that the caller's
// transpose(1, 2).reshape(B, T, H D) is a view, not a copy; otherwise contiguous (B, H, T, D).
at::Tensor empty_heads_like(const at::Tensor& q, at::ScalarType dtype) {
  const auto opts = q.options().dtype(dtype);
  if (heads_inside_time(q)) return at::empty({q.size(0), q.size(2), q.size(1), q.size(3)}, opts).transpose(1, 2);
  return at::empty(q.sizes(), opts);
}

template <class T>
std::tuple<at::Tensor, at::Tensor> forward_cpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                              bool causal, double scale, bool reference) {
  at::Tensor o = empty_heads_like(q, q.scalar_type());
  at::Tensor lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options());
  attn::FwdParams<T, T> p{q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(), o.data_ptr<T>(), lse.data_ptr<T>(),
                          q.size(0), q.size(1), q.size(2), q.size(3), scale, causal, strides_of(q), strides_of(o)};
  // One task per (b, h) at least; the fast kernel allocates its scratch once per task range.
  std::atomic<bool> finite{true};
  at::parallel_for(0, p.B * p.H, 1, [&](int64_t begin, int64_t end) {
    if (reference) attn::forward_reference(p, begin, end);
    else if (!attn::forward_fast(p, begin, end)) finite = false;
  });
  // The fast kernel checks finiteness while packing its inputs (the caller skipped the separate pass); on a
  // non-finite element the full check finds and names it.
  if (!finite) {
    detail::check_finite(q, kOp, "q");
    detail::check_finite(k, kOp, "k");
    detail::check_finite(v, kOp, "v");
  }
  return {o, lse};
}

template <class T>
std::tuple<at::Tensor, at::Tensor, at::Tensor> backward_cpu(const at::Tensor& q, const at::Tensor& k,
                                                           const at::Tensor& v, const at::Tensor& o,
                                                           const at::Tensor& lse, const at::Tensor& dout,
                                                           bool causal, double scale, bool reference) {
  // The gradients and dout in o's layout (dense, so empty_like keeps its strides): the kernel reads and writes them
  // with one set of strides. dout usually arrives so (the gradient of the caller's view of o); otherwise one copy.
  at::Tensor dq = at::empty_like(o), dk = at::empty_like(o), dv = at::empty_like(o);
  const at::Tensor d = dout.strides() == o.strides() ? dout : at::empty_like(o).copy_(dout);
  TORCH_INTERNAL_ASSERT(dq.strides() == o.strides() && d.strides() == o.strides());
  attn::BwdParams<T, T> p{q.data_ptr<T>(),  k.data_ptr<T>(),  v.data_ptr<T>(),  o.data_ptr<T>(),
                          d.data_ptr<T>(),  lse.data_ptr<T>(), dq.data_ptr<T>(), dk.data_ptr<T>(),
                          dv.data_ptr<T>(), q.size(0),         q.size(1),         q.size(2),
                          q.size(3),        scale,             causal,            strides_of(q),
                          strides_of(o)};
  at::parallel_for(0, p.B * p.H, 1, [&](int64_t begin, int64_t end) {
    if (reference) attn::backward_reference(p, begin, end);
    else attn::backward_fast(p, begin, end);
  });
  return {dq, dk, dv};
}

std::tuple<at::Tensor, at::Tensor> forward_impl(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                               bool causal, double scale, bool reference) {
  if (q.is_cuda() && !reference) return detail::attention_forward_cuda(q, k, v, causal, scale);
  if (q.scalar_type() == at::kDouble) return forward_cpu<double>(q, k, v, causal, scale, reference);
  return forward_cpu<float>(q, k, v, causal, scale, reference);
}

struct AttentionFunction : public torch::autograd::Function<AttentionFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            bool causal, double scale, bool reference) {
    auto [o, lse] = forward_impl(q, k, v, causal, scale, reference);
    ctx->save_for_backward({q, k, v, o, lse});
    ctx->saved_data["causal"] = causal;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["reference"] = reference;
    return o;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const bool causal = ctx->saved_data["causal"].toBool();
    const double scale = ctx->saved_data["scale"].toDouble();
    const bool reference = ctx->saved_data["reference"].toBool();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &o = saved[3], &lse = saved[4];
    const at::Tensor& dout = grads[0];
    std::tuple<at::Tensor, at::Tensor, at::Tensor> g;
    if (q.is_cuda() && !reference) {
      g = detail::attention_backward_cuda(q, k, v, o, lse, dout.contiguous(), causal, scale);
    } else if (q.scalar_type() == at::kDouble) {
      g = backward_cpu<double>(q, k, v, o, lse, dout, causal, scale, reference);
    } else {
      g = backward_cpu<float>(q, k, v, o, lse, dout, causal, scale, reference);
    }
    return {std::get<0>(g), std::get<1>(g), std::get<2>(g), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor attention_checked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                             std::optional<double> scale, bool reference) {
  using detail::fail;
  detail::check_rank(q, kOp, "q", 4, "(B, H, T, D)");
  detail::check_rank(k, kOp, "k", 4, "(B, H, T, D)");
  detail::check_rank(v, kOp, "v", 4, "(B, H, T, D)");
  if (reference && !q.is_cpu())
    fail(kOp, "the reference implementation runs on the CPU; got 'q' on " + q.device().str());
  if (q.is_cpu()) {
    detail::check_dtype(q, kOp, "q", {at::kFloat, at::kDouble});
  } else if (q.is_cuda()) {
    detail::check_dtype(q, kOp, "q", {at::kFloat, at::kBFloat16, at::kHalf});
  } else {
    fail(kOp, "argument 'q' is on " + q.device().str() + "; supported devices are cpu and cuda");
  }
  detail::check_like(k, kOp, "k", q, "q");
  detail::check_like(v, kOp, "v", q, "q");
  if (k.sizes() != q.sizes())
    fail(kOp, "argument 'k' must have the shape of 'q' " + detail::shape_str(q.sizes()) + "; got " +
                  detail::shape_str(k.sizes()));
  if (v.sizes() != q.sizes())
    fail(kOp, "argument 'v' must have the shape of 'q' " + detail::shape_str(q.sizes()) + "; got " +
                  detail::shape_str(v.sizes()));
  if (q.size(2) < 1) fail(kOp, "sequence length T (dim 2 of 'q') must be at least 1; got shape " + detail::shape_str(q.sizes()));
  if (q.size(3) < 1) fail(kOp, "head dimension D (dim 3 of 'q') must be at least 1; got shape " + detail::shape_str(q.sizes()));
  const double s = scale.has_value() ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  if (!std::isfinite(s)) fail(kOp, "argument 'scale' must be finite; got " + std::to_string(s));
  if (reference || !q.is_cpu()) {  // the fast CPU kernel checks as it packs (forward_cpu), saving a pass
    detail::check_finite(q, kOp, "q");
    detail::check_finite(k, kOp, "k");
    detail::check_finite(v, kOp, "v");
  }
  // The CPU kernels read q, k and v where they are when the three share strides and their head dimension is
  // contiguous (the head views of one projection are: no copies); otherwise, and on CUDA, contiguous copies.
  const bool in_place = q.is_cpu() && (q.size(3) == 1 || q.stride(3) == 1) && k.strides() == q.strides() &&
                        v.strides() == q.strides();
  if (in_place) return AttentionFunction::apply(q, k, v, causal, s, reference);
  return AttentionFunction::apply(q.contiguous(), k.contiguous(), v.contiguous(), causal, s, reference);
}

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                     std::optional<double> scale) {
  // bfloat16 / float16 on the CPU (mixed-precision training): the float32 kernel on the widened inputs, the output
  // rounded back once, so the error is the output's rounding (the accuracy rule: at most twice a naive
  // implementation's in the same precision, tested). Gradients flow through the casts.
  if (q.defined() && q.is_cpu() && (q.scalar_type() == at::kBFloat16 || q.scalar_type() == at::kHalf)) {
    detail::check_like(k, kOp, "k", q, "q");
    detail::check_like(v, kOp, "v", q, "q");
    // Widened in one pass each into float32 laid out as the kernel reads it in place: (B, T, H, D) memory for head
    // views, so that the output comes back in that layout too (see empty_heads_like), contiguous otherwise.
    auto widen = [](const at::Tensor& t) { return empty_heads_like(t, at::kFloat).copy_(t); };
    return attention_checked(widen(q), widen(k), widen(v), causal, scale, false).to(q.scalar_type());
  }
  return attention_checked(q, k, v, causal, scale, /*reference=*/false);
}

at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                               std::optional<double> scale) {
  return attention_checked(q, k, v, causal, scale, /*reference=*/true);
}

}  // namespace incontext

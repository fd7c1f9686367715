// CUDA side of the op bindings: fills the kernels' plain structs and launches them on the current stream.
#include "cuda_dispatch.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "attention/attention.h"
#include "checks.h"

namespace incontext::detail {

namespace {
attn::Storage storage_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return attn::Storage::f32;
    case at::kBFloat16: return attn::Storage::bf16;
    case at::kHalf: return attn::Storage::f16;
    default: fail("attention", std::string("unsupported CUDA dtype ") + c10::toString(t.scalar_type()));
  }
}
void check_launch(const char* err) {
  if (err != nullptr) fail_runtime("attention", std::string("CUDA kernel failed: ") + err);
}
}  // namespace

std::tuple<at::Tensor, at::Tensor> attention_forward_cuda(const at::Tensor& q, const at::Tensor& k,
                                                          const at::Tensor& v, bool causal, double scale) {
  const c10::cuda::CUDAGuard guard(q.device());
  at::Tensor o = at::empty_like(q);
  at::Tensor lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat));
  attn::CudaFwd p{storage_of(q), q.data_ptr(), k.data_ptr(), v.data_ptr(), o.data_ptr(), lse.data_ptr<float>(),
                  q.size(0), q.size(1), q.size(2), q.size(3), static_cast<float>(scale), causal};
  check_launch(attn::forward_cuda(p, c10::cuda::getCurrentCUDAStream().stream()));
  return {o, lse};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> attention_backward_cuda(const at::Tensor& q, const at::Tensor& k,
                                                                       const at::Tensor& v, const at::Tensor& o,
                                                                       const at::Tensor& lse, const at::Tensor& dout,
                                                                       bool causal, double scale) {
  const c10::cuda::CUDAGuard guard(q.device());
  at::Tensor dq = at::empty_like(q);
  at::Tensor dk = at::zeros(q.sizes(), q.options().dtype(at::kFloat));
  at::Tensor dv = at::zeros(q.sizes(), q.options().dtype(at::kFloat));
  attn::CudaBwd p{storage_of(q), q.data_ptr(),       k.data_ptr(),          v.data_ptr(), o.data_ptr(),
                  dout.data_ptr(), lse.data_ptr<float>(), dq.data_ptr(), dk.data_ptr<float>(), dv.data_ptr<float>(),
                  q.size(0),     q.size(1),          q.size(2),             q.size(3),    static_cast<float>(scale),
                  causal};
  check_launch(attn::backward_cuda(p, c10::cuda::getCurrentCUDAStream().stream()));
  return {dq, dk.to(q.scalar_type()), dv.to(q.scalar_type())};
}

}  // namespace incontext::detail

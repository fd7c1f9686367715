// CUDA side of prefix_lstsq (built only with INCONTEXT_WITH_CUDA): fills the kernel's plain struct and launches
// it on the current stream.
#include "prefix_lstsq_cuda.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "checks.h"
#include "prefix_lstsq/prefix_lstsq.h"

namespace incontext::detail {

namespace {
template <class T>
void launch(const at::Tensor& x, const at::Tensor& y, const at::Tensor& q, const at::Tensor& lambda_dev,
            at::Tensor& pred, at::Tensor& w) {
  lstsq::FwdParams<T> p{x.data_ptr<T>(),        y.data_ptr<T>(), q.defined() ? q.data_ptr<T>() : nullptr,
                        lambda_dev.data_ptr<double>(), pred.data_ptr<T>(), w.defined() ? w.data_ptr<T>() : nullptr,
                        x.size(0),              x.size(1),       x.size(2)};
  const char* err = lstsq::forward_cuda<T>(p, c10::cuda::getCurrentCUDAStream().stream());
  if (err != nullptr) fail_runtime("prefix_lstsq", std::string("CUDA kernel failed: ") + err);
}
}  // namespace

std::tuple<at::Tensor, at::Tensor> prefix_lstsq_forward_cuda(const at::Tensor& x, const at::Tensor& y,
                                                             const at::Tensor& q, const at::Tensor& lambda_cpu,
                                                             bool want_weights) {
  const c10::cuda::CUDAGuard guard(x.device());
  const at::Tensor lambda_dev = lambda_cpu.to(x.device()).contiguous();
  at::Tensor pred = at::empty_like(y);
  at::Tensor w = want_weights ? at::empty_like(x) : at::Tensor();
  if (x.scalar_type() == at::kDouble) launch<double>(x, y, q, lambda_dev, pred, w);
  else launch<float>(x, y, q, lambda_dev, pred, w);
  return {pred, w};
}

}  // namespace incontext::detail

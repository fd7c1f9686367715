// Stand-ins for cuda_dispatch.cpp in builds without CUDA: a CUDA tensor reaching an op gets a clear message.
#include "checks.h"
#include "cuda_dispatch.h"

namespace incontext::detail {

namespace {
[[noreturn]] void no_cuda(const char* op) {
  fail(op, "got CUDA tensors, but this build of incontext has no CUDA kernels. Build with nvcc on PATH against a "
           "CUDA libtorch (Maven profile -Pgpu, or CMake -DINCONTEXT_TORCH_PACKAGE=ON with a CUDA PyTorch)");
}
}  // namespace

std::tuple<at::Tensor, at::Tensor> attention_forward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                          bool, double) {
  no_cuda("attention");
}
std::tuple<at::Tensor, at::Tensor, at::Tensor> attention_backward_cuda(const at::Tensor&, const at::Tensor&,
                                                                       const at::Tensor&, const at::Tensor&,
                                                                       const at::Tensor&, const at::Tensor&, bool,
                                                                       double) {
  no_cuda("attention");
}

}  // namespace incontext::detail

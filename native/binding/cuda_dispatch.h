// CUDA entry points of the ops (cuda_dispatch.cpp, built only when CUDA kernels and a CUDA libtorch are both
// present). Without them the functions fail with a message saying how to get a CUDA build.
#pragma once

#include <tuple>

#include <ATen/core/Tensor.h>

namespace incontext::detail {

std::tuple<at::Tensor, at::Tensor> attention_forward_cuda(const at::Tensor& q, const at::Tensor& k,
                                                          const at::Tensor& v, bool causal, double scale);
std::tuple<at::Tensor, at::Tensor, at::Tensor> attention_backward_cuda(const at::Tensor& q, const at::Tensor& k,
                                                                       const at::Tensor& v, const at::Tensor& o,
                                                                       const at::Tensor& lse, const at::Tensor& dout,
                                                                       bool causal, double scale);

}  // namespace incontext::detail

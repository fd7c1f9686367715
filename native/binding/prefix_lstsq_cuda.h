// CUDA entry point of prefix_lstsq (prefix_lstsq_cuda.cpp, compiled only with INCONTEXT_WITH_CUDA).
#pragma once

#include <tuple>

#include <ATen/core/Tensor.h>

namespace incontext::detail {

// x, y, q (q may be undefined: queries = x) contiguous CUDA tensors of one dtype (float32 or float64);
// lambda_cpu: float64 (B) on the CPU. Returns (pred (B, n), weights (B, n, d) or undefined).
std::tuple<at::Tensor, at::Tensor> prefix_lstsq_forward_cuda(const at::Tensor& x, const at::Tensor& y,
                                                             const at::Tensor& q, const at::Tensor& lambda_cpu,
                                                             bool want_weights);

}  // namespace incontext::detail

// incontext: the C++ API of the project's ops. Tensors in, tensors out; every op validates its arguments
// (messages name the argument, the expected and the actual shape/dtype/device) and carries its own
// autograd, so the results have grad_fns and Java never implements a backward pass.
//
// The ops are also registered with the dispatcher as incontext::<name> (TORCH_LIBRARY), so Python reaches
// them with torch.ops.load_library(path) and torch.ops.incontext.<name>(...).
#pragma once

#include <optional>

#include <ATen/core/Tensor.h>

namespace incontext {

// Scaled dot-product attention, softmax(q k^T * scale) v, with an optional causal mask (key j visible to
// query i iff j <= i).
//   q, k, v: (B, H, T, D), same dtype and device. CPU: float32, float64. CUDA: float32, bfloat16, float16.
//   scale:   defaults to 1 / sqrt(D).
// Returns (B, H, T, D). Differentiable in q, k and v.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                     std::optional<double> scale = std::nullopt);

// The naive reference of attention (CPU, float64 accumulation, O(T^2) per row): the spec the fast kernels
// are tested against. Same arguments and autograd; CPU tensors only.
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                               std::optional<double> scale = std::nullopt);

// All-prefix least squares. For every prompt b and every k = 0..n-1, the prediction at x[b, k] of the
// least-squares fit to the first k points (x[b, :k], y[b, :k]); 0 at k = 0.
//   x: (B, n, d), y: (B, n), float32 or float64, same dtype and device.
//   lambda = 0: the minimum-norm least-squares solution (exact for k < d and repeated points);
//   lambda > 0: ridge, (X^T X + lambda I)^{-1} X^T y.
// Returns (B, n) in the dtype of x. Differentiable in x and y (where the rank of each prefix is locally
// constant, which holds almost surely for continuous inputs).
at::Tensor prefix_lstsq(const at::Tensor& x, const at::Tensor& y, double lambda = 0.0);

// The naive reference of prefix_lstsq: every prefix solved on its own in float64 (one-sided Jacobi SVD for
// lambda = 0, Cholesky for lambda > 0). CPU tensors only.
at::Tensor prefix_lstsq_reference(const at::Tensor& x, const at::Tensor& y, double lambda = 0.0);

}  // namespace incontext

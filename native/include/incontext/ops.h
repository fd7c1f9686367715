// incontext: the C++ API of the project's ops. Tensors in, tensors out; every op validates its arguments
// (messages name the argument, the expected and the actual shape/dtype/device) and carries its own
// autograd, so the results have grad_fns and Java never implements a backward pass.
//
// The ops are also registered with the dispatcher as incontext::<name> (TORCH_LIBRARY), so Python reaches
// them with torch.ops.load_library(path) and torch.ops.incontext.<name>(...).
#pragma once

#include <optional>
#include <tuple>

#include <ATen/core/Tensor.h>

namespace incontext {

// Scaled dot-product attention, softmax(q k^T * scale) v, with an optional causal mask (key j visible to
// query i iff j <= i).
//   q, k, v: (B, H, T, D), same dtype and device. CPU: float32, float64; bfloat16 and float16 (mixed-precision
//   training) run the float32 kernel on widened inputs and round the output once. CUDA: float32, bfloat16, float16.
//   scale:   defaults to 1 / sqrt(D).
// Returns (B, H, T, D). Differentiable in q, k and v.
// Layout: on the CPU, q, k and v that share strides with a contiguous head dimension are read where they are (the
// head views x.view(B, T, H, D).transpose(1, 2) of one (B, T, 3 H D) projection are, with no copies); for such head
// views the output and the gradients are (B, T, H, D) memory seen as (B, H, T, D), so o.transpose(1, 2).reshape(B, T,
// H D) is a view. Other inputs are copied to contiguous first, and give contiguous results.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                     std::optional<double> scale = std::nullopt);

// The naive reference of attention (CPU, float64 accumulation, O(T^2) per row): the spec the fast kernels
// are tested against. Same arguments and autograd; CPU tensors only.
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                               std::optional<double> scale = std::nullopt);

// GELU with the tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): torch.gelu(x, "tanh") to float32
// rounding. CPU float32 and bfloat16 (computed in float32, rounded once): one fused pass forward and one backward
// (gelu/gelu.h: the sigmoid form, a polynomial exponential, no libm); other dtypes and devices: libtorch's gelu with
// its autograd. Any shape; differentiable in x
// (twice, through libtorch's formula). NaN propagates, as in libtorch. Its specification is libtorch's gelu itself
// (no separate reference op): the tests compare against it and against float64.
at::Tensor gelu_tanh(const at::Tensor& x);

// All-prefix least squares. For every prompt b and every k = 0..n-1, the prediction at the query q[b, k] of the
// least-squares fit to the first k points (x[b, :k], y[b, :k]); 0 at k = 0.
//   x: (B, n, d), y: (B, n), float32 or float64, same dtype and device (CPU or CUDA).
//   lambda = 0: the minimum-norm least-squares solution (exact for k < d and repeated points);
//   lambda > 0: ridge, (X^T X + lambda I)^{-1} X^T y.
//   lambda as a tensor: a 0-D tensor, or shape (B) for one value per prompt (zeros and positives may mix).
//   queries: (B, n, d) like x; defaults to x itself (query k = x[b, k]).
// One incremental pass per prompt (Gram-Schmidt basis + Givens QR updating; ridge: QR-RLS), float64 state on
// the CPU, float32/float64 state on CUDA. Returns (B, n) in the dtype of x. Differentiable in x, y and queries
// (where the rank of each prefix is locally constant, which holds almost surely for continuous inputs); the
// backward pass is the float64 CPU reference. Not differentiable in lambda.
// Accuracy contract (CPU): float32 inputs are widened exactly and solved in float64, so the result equals the
// float64 solution for the float32 values to 1e-4 relative (tested; float64 inputs: 1e-10). It is not close to the
// float64 solution for the unrounded data where a prefix is ill-conditioned (k near d): there the rounding of the
// inputs alone moves predictions by up to 7e-2 at (1280, 41, 20); pass float64 inputs when that matters.
at::Tensor prefix_lstsq(const at::Tensor& x, const at::Tensor& y, double lambda = 0.0);
at::Tensor prefix_lstsq(const at::Tensor& x, const at::Tensor& y, const at::Tensor& lambda,
                        const std::optional<at::Tensor>& queries = std::nullopt);

// prefix_lstsq that also returns the fitted weight vectors: (pred (B, n), weights (B, n, d)) where weights[b, k]
// is the fit to the first k points (the zero vector at k = 0) and pred[b, k] = queries[b, k] . weights[b, k].
// pred is differentiable as in prefix_lstsq; weights carry no gradient (marked non-differentiable).
std::tuple<at::Tensor, at::Tensor> prefix_lstsq_with_weights(const at::Tensor& x, const at::Tensor& y,
                                                             const at::Tensor& lambda,
                                                             const std::optional<at::Tensor>& queries = std::nullopt);

// The naive reference of prefix_lstsq: every prefix solved on its own in float64 (one-sided Jacobi SVD for
// lambda = 0, Cholesky for lambda > 0). Solved on the CPU (CUDA inputs are copied there and back).
at::Tensor prefix_lstsq_reference(const at::Tensor& x, const at::Tensor& y, double lambda = 0.0);
at::Tensor prefix_lstsq_reference(const at::Tensor& x, const at::Tensor& y, const at::Tensor& lambda,
                                  const std::optional<at::Tensor>& queries = std::nullopt);
std::tuple<at::Tensor, at::Tensor> prefix_lstsq_with_weights_reference(
    const at::Tensor& x, const at::Tensor& y, const at::Tensor& lambda,
    const std::optional<at::Tensor>& queries = std::nullopt);

// All-prefix averaging baseline: prediction k = q[b, k] . (1/k) sum_{i<k} y[b, i] x[b, i]; 0 at k = 0.
// Shapes and dtypes as prefix_lstsq; runs on the device of x with ATen ops (O(B n d)); differentiable.
at::Tensor prefix_averaging(const at::Tensor& x, const at::Tensor& y,
                            const std::optional<at::Tensor>& queries = std::nullopt);

// All-prefix k-nearest-neighbours baseline: prediction i = weighted mean of the y's of the min(i, k) points among
// x[b, :i] nearest (Euclidean) to the query q[b, i]; 0 at i = 0. Uniform weights, or with distance_weighted
// 1/distance (points at distance 0 then get weight 1 and all others 0, as scikit-learn does). Ties in distance
// are broken by libtorch's topk. Runs on the device of x with ATen ops (O(B n^2 d)); differentiable in y (and in
// x and the queries through the distance weights).
at::Tensor prefix_knn(const at::Tensor& x, const at::Tensor& y, int64_t k = 3, bool distance_weighted = false,
                      const std::optional<at::Tensor>& queries = std::nullopt);

// All-prefix gradient-boosted trees (XGBoost's exact greedy method, reg:squarederror; boosted_trees.h says exactly
// what is computed): entry k is the prediction at q[b, k] of the booster fitted to the first k points, 0 at k = 0.
// x, y, queries as prefix_lstsq, CPU, float32 or float64 (read as float32, as XGBoost does); returns (B, n) in the
// dtype of x. Not differentiable. XGBRegressor's defaults of XGBoost 1.6: rounds 100, max_depth 6, eta 0.3,
// lambda 1, min_child_weight 1, base_score 0.5.
at::Tensor prefix_boosted_trees(const at::Tensor& x, const at::Tensor& y,
                                const std::optional<at::Tensor>& queries = std::nullopt, int64_t rounds = 100,
                                int64_t max_depth = 6, double eta = 0.3, double lambda = 1.0,
                                double min_child_weight = 1.0, double base_score = 0.5);

// Rotary position embedding of x (B, H, T, D), D even, by the tables cos and sin (T, D) in the interleaved-pairs
// convention (coordinates 2j and 2j + 1 share an angle; the tables repeat each value twice): x cos + rot(x) sin with
// rot pairing (x_2j, x_2j+1) -> (-x_2j+1, x_2j). Differentiable in x (the gradient is the inverse rotation); the
// tables are constants. A bfloat16/float16 x may come with float32 tables (mixed precision: the CPU widens x, runs the
// float32 pass and rounds once). Returns a contiguous tensor. CPU: one fused pass (float32/float64); CUDA: the same formula
// in ATen ops. x may be a strided view (the decoder passes q and k straight from the fused qkv projection).
at::Tensor rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
// The same formula composed of ATen ops under plain autograd: the specification the op is tested against.
at::Tensor rope_reference(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// Many 2-layer ReLU nets f(x) = w2 . relu(W1^T x + b1) + b2 trained at once (the GD-trained net baseline), CPU float32:
//   x (C, r, d) rows and y (C, r) targets per prompt c; mask (C, nets, r) row weights >= 0 (0 or 1: net u of prompt
//   c learns from the rows with weight 1); params (C, nets, S), S = d hidden + 2 hidden + 1, each net's block being
//   W1 (d, hidden) row-major, b1 (hidden), w2 (hidden), b2.
// relu_net_loss returns each net's weighted mean squared error (C, nets) (0 for an empty mask).
// relu_net_adam_step returns the same losses at the parameters on entry, then takes one Adam step (torch::optim::Adam,
// step number `step` >= 1) on every net's loss, updating params, exp_avg and exp_avg_sq (shaped like params) in place.
// Neither is differentiable; all tensors contiguous.
at::Tensor relu_net_loss(const at::Tensor& x, const at::Tensor& y, const at::Tensor& mask, const at::Tensor& params,
                         int64_t hidden);
at::Tensor relu_net_adam_step(const at::Tensor& x, const at::Tensor& y, const at::Tensor& mask,
                              const at::Tensor& params, const at::Tensor& exp_avg, const at::Tensor& exp_avg_sq,
                              int64_t hidden, int64_t step, double lr, double beta1 = 0.9, double beta2 = 0.999,
                              double eps = 1e-8);

}  // namespace incontext

// Many small 2-layer ReLU networks trained at once by Adam, each on its own rows (Garg et al.'s GD-trained net
// baseline, one net per prompt and prefix), the kernel: plain C++, no torch types.
//
// Net u of prompt c (u = 0 .. nets-1) is f(x) = w2 . relu(W1^T x + b1) + b2 with input size d and H hidden units.
// Its parameters are one contiguous block of S = d H + 2 H + 1 floats, params[(c nets + u) S ...]:
//   W1 (d, H) row-major, then b1 (H), w2 (H), b2 (1).
// It learns from the rows x[c, j] (d floats) with targets y[c, j], j < r, weighted by mask[(c nets + u) r + j]
// (0 or 1: the net's minibatch; rows with weight 0 are skipped, so a net that sees only a prefix pays only for it).
// Its loss is the weighted mean squared error sum_j m_j (f(x_j) - y_j)^2 / sum_j m_j (0 for an empty mask).
//
// step(): the loss at the current parameters, then one Adam step on it, exactly libtorch's torch::optim::Adam
// (no weight decay, no amsgrad) on each block: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), with t = the step number (from 1). Every net's update
// is its own (Adam is element-wise and the nets' losses are summed), so nets can be trained in any order or split
// across threads. With exp_avg == nullptr only the losses are computed and nothing is updated.
//
// Cost per net and step: 2 d H multiply-adds and about 8 H other flops per row of its mask, plus about 12 S flops for
// Adam; memory: the block, its Adam state and one gradient block (about 4 S floats, 35 KB at d = 20, H = 100) stay
// in the core's cache while the net's rows stream past.
#pragma once

#include <cstdint>

namespace incontext::relunet {

struct Params {
  const float* x;     // (C, r, d) contiguous
  const float* y;     // (C, r)
  const float* mask;  // (C, nets, r)
  float* params;      // (C, nets, S)
  float* exp_avg;     // (C, nets, S), or nullptr: losses only
  float* exp_avg_sq;  // (C, nets, S)
  float* loss;        // (C, nets): each net's loss at the parameters it had on entry
  int64_t C, r, d, H, nets;
  int64_t step;       // Adam's step number t >= 1
  double lr, beta1, beta2, eps;
};

inline int64_t block_size(int64_t d, int64_t H) { return d * H + 2 * H + 1; }

// Nets [begin, end) of the C * nets; scratch holds at least scratch_size(d, H, r) floats (r < 2^31).
void step(const Params& p, int64_t begin, int64_t end, float* scratch);
int64_t scratch_size(int64_t d, int64_t H, int64_t r);

// The instruction set the kernel runs with on this CPU: "avx512", "avx2" or "portable" (INCONTEXT_CPU_ISA caps it).
const char* isa_name();

}  // namespace incontext::relunet

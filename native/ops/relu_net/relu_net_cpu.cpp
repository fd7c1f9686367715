// The ReLU-net Adam step on the CPU (relu_net.h documents the nets, the loss and the update).
//
// Layout per net: its W1, b1 and w2 are copied into scratch with H padded to a whole number of SIMD vectors (zeros:
// a padded unit has pre-activation 0, output weight 0 and so gradient 0), so every inner loop runs on full vectors of
// GCC's vector extensions. Rows are taken four at a time: the forward pass keeps the four rows' pre-activations of
// one vector of hidden units in registers while it runs over the d inputs (one load of W1 per four multiply-adds),
// and the backward pass adds the four rows' outer products x_j dh_j^T to the gradient of W1 in one load and store.
// The body is compiled for baseline x86-64 (4-lane vectors), AVX2+FMA (8) and AVX-512 (16) and chosen at run time;
// INCONTEXT_CPU_ISA=portable|avx2 caps the choice, as for the other kernels.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu_isa.h"
#include "relu_net/relu_net.h"

namespace incontext::relunet {
namespace {

typedef float V4 __attribute__((vector_size(16)));
typedef float V8 __attribute__((vector_size(32)));
typedef float V16 __attribute__((vector_size(64)));

constexpr int kRows = 4;  // rows per block

template <class V>
constexpr int lanes() {
  return static_cast<int>(sizeof(V) / sizeof(float));
}

template <class V>
inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <class V>
inline void store(float* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

template <class V>
inline float hsum(V v) {
  float s = 0;
  for (int i = 0; i < lanes<V>(); ++i) s += v[i];
  return s;
}

template <class V>
void net_step(const Params& p, int64_t unit, float* scratch, int* rows) {
  constexpr int L = lanes<V>();
  const int64_t d = p.d, H = p.H, r = p.r, S = block_size(d, H);
  const int64_t Hp = (H + L - 1) / L * L, nv = Hp / L;
  const int64_t c = unit / p.nets;
  float* P = p.params + unit * S;
  const float* W1 = P;
  const float* b1 = P + d * H;
  const float* w2 = b1 + H;
  const float b2 = w2[H];
  const float* x = p.x + c * r * d;
  const float* y = p.y + c * r;
  const float* mask = p.mask + unit * r;

  float* W1p = scratch;          // d * Hp
  float* b1p = W1p + d * Hp;     // Hp
  float* w2p = b1p + Hp;         // Hp
  float* gW1 = w2p + Hp;         // d * Hp
  float* gb1 = gW1 + d * Hp;     // Hp
  float* gw2 = gb1 + Hp;         // Hp
  float* pre = gw2 + Hp;         // kRows * Hp
  float* dh = pre + kRows * Hp;  // kRows * Hp
  for (int64_t k = 0; k < d; ++k) {
    std::memcpy(W1p + k * Hp, W1 + k * H, sizeof(float) * H);
    std::fill(W1p + k * Hp + H, W1p + (k + 1) * Hp, 0.0f);
  }
  std::memcpy(b1p, b1, sizeof(float) * H);
  std::fill(b1p + H, b1p + Hp, 0.0f);
  std::memcpy(w2p, w2, sizeof(float) * H);
  std::fill(w2p + H, w2p + Hp, 0.0f);
  const bool update = p.exp_avg != nullptr;
  if (update) std::fill(gW1, gW1 + d * Hp + 2 * Hp, 0.0f);

  int nrows = 0;
  double wsum = 0;
  for (int64_t j = 0; j < r; ++j) {
    if (mask[j] != 0.0f) {
      rows[nrows++] = static_cast<int>(j);
      wsum += mask[j];
    }
  }
  double loss = 0;
  float gb2 = 0;
  const V zero = {};
  for (int blk = 0; blk < nrows; blk += kRows) {
    const int nb = std::min(kRows, nrows - blk);
    const float* xr[kRows];
    for (int q = 0; q < kRows; ++q) xr[q] = x + rows[blk + std::min(q, nb - 1)] * d;  // repeats are ignored below
    // Forward: pre = b1 + W1^T x for four rows, one vector of hidden units at a time.
    V out[kRows] = {};
    for (int64_t v = 0; v < nv; ++v) {
      const V b = load<V>(b1p + v * L);
      V a0 = b, a1 = b, a2 = b, a3 = b;
      for (int64_t k = 0; k < d; ++k) {
        const V w = load<V>(W1p + k * Hp + v * L);
        a0 += xr[0][k] * w;
        a1 += xr[1][k] * w;
        a2 += xr[2][k] * w;
        a3 += xr[3][k] * w;
      }
      store(pre + 0 * Hp + v * L, a0);
      store(pre + 1 * Hp + v * L, a1);
      store(pre + 2 * Hp + v * L, a2);
      store(pre + 3 * Hp + v * L, a3);
      const V o = load<V>(w2p + v * L);
      out[0] += (a0 > zero ? a0 : zero) * o;
      out[1] += (a1 > zero ? a1 : zero) * o;
      out[2] += (a2 > zero ? a2 : zero) * o;
      out[3] += (a3 > zero ? a3 : zero) * o;
    }
    float g[kRows] = {};
    for (int q = 0; q < nb; ++q) {
      const int j = rows[blk + q];
      const float e = (hsum(out[q]) + b2) - y[j];
      loss += static_cast<double>(mask[j]) * e * e;
      g[q] = static_cast<float>(2.0 * mask[j] * e / wsum);
      gb2 += g[q];
    }
    if (!update) continue;
    // Backward: gw2 += g relu(pre), dh = g w2 [pre > 0], gb1 += dh, gW1 += x dh^T (rows past nb have g = 0).
    for (int64_t v = 0; v < nv; ++v) {
      const V o = load<V>(w2p + v * L);
      V sw2 = load<V>(gw2 + v * L), sb1 = load<V>(gb1 + v * L);
      for (int q = 0; q < kRows; ++q) {
        const V a = load<V>(pre + q * Hp + v * L);
        const V h = a > zero ? a : zero;
        const V gd = a > zero ? g[q] * o : zero;
        sw2 += g[q] * h;
        sb1 += gd;
        store(dh + q * Hp + v * L, gd);
      }
      store(gw2 + v * L, sw2);
      store(gb1 + v * L, sb1);
      const V d0 = load<V>(dh + 0 * Hp + v * L), d1 = load<V>(dh + 1 * Hp + v * L);
      const V d2 = load<V>(dh + 2 * Hp + v * L), d3 = load<V>(dh + 3 * Hp + v * L);
      for (int64_t k = 0; k < d; ++k) {
        float* gp = gW1 + k * Hp + v * L;
        store(gp, load<V>(gp) + xr[0][k] * d0 + xr[1][k] * d1 + xr[2][k] * d2 + xr[3][k] * d3);
      }
    }
  }
  p.loss[unit] = nrows > 0 ? static_cast<float>(loss / wsum) : 0.0f;
  if (!update) return;

  // Adam, as torch::optim::Adam computes it in float32.
  const double bc1 = 1 - std::pow(p.beta1, static_cast<double>(p.step));
  const double bc2 = 1 - std::pow(p.beta2, static_cast<double>(p.step));
  const float beta1 = static_cast<float>(p.beta1), beta2 = static_cast<float>(p.beta2);
  const float one_m_b1 = static_cast<float>(1 - p.beta1), one_m_b2 = static_cast<float>(1 - p.beta2);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2)), eps = static_cast<float>(p.eps);
  const float neg_step = static_cast<float>(-(p.lr / bc1));
  float* m = p.exp_avg + unit * S;
  float* s = p.exp_avg_sq + unit * S;
  auto adam = [&](float* param, float* m1, float* m2, const float* grad, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      const float gi = grad[i];
      m1[i] = m1[i] * beta1 + one_m_b1 * gi;
      m2[i] = m2[i] * beta2 + one_m_b2 * gi * gi;
      const float denom = std::sqrt(m2[i]) / bc2_sqrt + eps;
      param[i] = param[i] + neg_step * m1[i] / denom;
    }
  };
  for (int64_t k = 0; k < d; ++k) adam(P + k * H, m + k * H, s + k * H, gW1 + k * Hp, H);
  adam(P + d * H, m + d * H, s + d * H, gb1, H);
  adam(P + d * H + H, m + d * H + H, s + d * H + H, gw2, H);
  adam(P + d * H + 2 * H, m + d * H + 2 * H, s + d * H + 2 * H, &gb2, 1);
}

template <class V>
void run(const Params& p, int64_t begin, int64_t end, float* scratch) {
  constexpr int L = lanes<V>();
  const int64_t Hp = (p.H + L - 1) / L * L;
  int* rows = reinterpret_cast<int*>(scratch + (2 * p.d + 4 + 2 * kRows) * Hp);
  for (int64_t u = begin; u < end; ++u) net_step<V>(p, u, scratch, rows);
}

__attribute__((target("avx512f,avx512vl,avx512dq"), flatten)) void run_avx512(const Params& p, int64_t b, int64_t e,
                                                                                float* s) {
  run<V16>(p, b, e, s);
}

__attribute__((target("avx2,fma"), flatten)) void run_avx2(const Params& p, int64_t b, int64_t e, float* s) {
  run<V8>(p, b, e, s);
}

__attribute__((flatten)) void run_portable(const Params& p, int64_t b, int64_t e, float* s) { run<V4>(p, b, e, s); }

using cpu::Isa;

Isa isa() {
  static const Isa chosen = cpu::widest(/*need_bw=*/false);
  return chosen;
}

}  // namespace

int64_t scratch_size(int64_t d, int64_t H, int64_t r) {
  const int64_t Hp = (H + 15) / 16 * 16;  // the widest padding
  return (2 * d + 4 + 2 * kRows) * Hp + r;  // + the list of a net's rows (int32, one float's size each)
}

void step(const Params& p, int64_t begin, int64_t end, float* scratch) {
  switch (isa()) {
    case Isa::avx512: run_avx512(p, begin, end, scratch); return;
    case Isa::avx2: run_avx2(p, begin, end, scratch); return;
    case Isa::portable: run_portable(p, begin, end, scratch); return;
  }
}

const char* isa_name() { return cpu::name(isa()); }

}  // namespace incontext::relunet

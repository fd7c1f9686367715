// Attention, naive CPU reference: the spec for every other attention implementation.
//
// Algorithm (per batch b, head h, query row i, visible keys j <= i when causal, else all j):
//   s_ij = scale * q_i . k_j;  lse_i = log sum_j exp(s_ij);  p_ij = exp(s_ij - lse_i);  o_i = sum_j p_ij v_j
// Backward, with delta_i = dO_i . o_i:
//   dv_j += p_ij dO_i;  ds_ij = p_ij (dO_i . v_j - delta_i);  dq_i += scale ds_ij k_j;  dk_j += scale ds_ij q_i
// Shapes: (B, H, T, D) contiguous. Cost: O(B H T^2 D) time, O(T + D) extra memory per row (the backward
// pass keeps float64 accumulators for dk and dv of one (b, h), O(T D)).
// Precision: everything accumulated in float64 whatever the storage type.
#include "attention/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace incontext::attn {

namespace {
template <class T>
double dot(const T* a, const T* b, int64_t n) {
  double s = 0;
  for (int64_t d = 0; d < n; ++d) s += static_cast<double>(a[d]) * static_cast<double>(b[d]);
  return s;
}
}  // namespace

template <class T, class L>
void forward_reference(const FwdParams<T, L>& p, int64_t bh_begin, int64_t bh_end) {
  const int64_t T_ = p.T_, D = p.D;
  std::vector<double> s(T_), acc(D);
  const int64_t si = p.in.st, so = p.out.st;
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const T* q = p.q + p.in.at(bh, p.H);
    const T* k = p.k + p.in.at(bh, p.H);
    const T* v = p.v + p.in.at(bh, p.H);
    T* o = p.o + p.out.at(bh, p.H);
    L* lse = p.lse + bh * T_;
    for (int64_t i = 0; i < T_; ++i) {
      const int64_t nkeys = p.causal ? i + 1 : T_;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < nkeys; ++j) {
        s[j] = p.scale * dot(q + i * si, k + j * si, D);
        m = std::max(m, s[j]);
      }
      double l = 0;
      for (int64_t j = 0; j < nkeys; ++j) l += std::exp(s[j] - m);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < nkeys; ++j) {
        const double pij = std::exp(s[j] - m) / l;
        for (int64_t d = 0; d < D; ++d) acc[d] += pij * static_cast<double>(v[j * si + d]);
      }
      for (int64_t d = 0; d < D; ++d) o[i * so + d] = static_cast<T>(acc[d]);
      lse[i] = static_cast<L>(m + std::log(l));
    }
  }
}

template <class T, class L>
void backward_reference(const BwdParams<T, L>& p, int64_t bh_begin, int64_t bh_end) {
  const int64_t T_ = p.T_, D = p.D;
  std::vector<double> dq(D), dk(T_ * D), dv(T_ * D);
  const int64_t si = p.in.st, so = p.out.st;
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const int64_t ioff = p.in.at(bh, p.H), ooff = p.out.at(bh, p.H);
    const T *q = p.q + ioff, *k = p.k + ioff, *v = p.v + ioff, *o = p.o + ooff, *dout = p.dout + ooff;
    const L* lse = p.lse + bh * T_;
    std::fill(dk.begin(), dk.end(), 0.0);
    std::fill(dv.begin(), dv.end(), 0.0);
    for (int64_t i = 0; i < T_; ++i) {
      const int64_t nkeys = p.causal ? i + 1 : T_;
      const double delta = dot(dout + i * so, o + i * so, D);
      std::fill(dq.begin(), dq.end(), 0.0);
      for (int64_t j = 0; j < nkeys; ++j) {
        const double pij = std::exp(p.scale * dot(q + i * si, k + j * si, D) - static_cast<double>(lse[i]));
        const double ds = pij * (dot(dout + i * so, v + j * si, D) - delta);
        for (int64_t d = 0; d < D; ++d) {
          dv[j * D + d] += pij * static_cast<double>(dout[i * so + d]);
          dq[d] += p.scale * ds * static_cast<double>(k[j * si + d]);
          dk[j * D + d] += p.scale * ds * static_cast<double>(q[i * si + d]);
        }
      }
      for (int64_t d = 0; d < D; ++d) p.dq[ooff + i * so + d] = static_cast<T>(dq[d]);
    }
    for (int64_t j = 0; j < T_; ++j)
      for (int64_t d = 0; d < D; ++d) {
        p.dk[ooff + j * so + d] = static_cast<T>(dk[j * D + d]);
        p.dv[ooff + j * so + d] = static_cast<T>(dv[j * D + d]);
      }
  }
}

template void forward_reference<float, float>(const FwdParams<float, float>&, int64_t, int64_t);
template void forward_reference<double, double>(const FwdParams<double, double>&, int64_t, int64_t);
template void backward_reference<float, float>(const BwdParams<float, float>&, int64_t, int64_t);
template void backward_reference<double, double>(const BwdParams<double, double>&, int64_t, int64_t);

}  // namespace incontext::attn

// XGBoost's exact greedy boosting for small dense data (boosted_trees.h documents what is computed).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "boosted_trees/boosted_trees.h"

namespace incontext::gbdt {
namespace {

constexpr float kRtEps = 1e-6f;  // XGBoost's threshold on loss_chg for a split

// XGBoost's CalcWeight (no L1 term, no max_delta_step), rounded to float32 as its split evaluator returns it.
inline float weight(double G, double H, float lambda) {
  if (H <= 0.0) return 0.0f;
  return static_cast<float>(-G / (H + lambda));
}

// XGBoost's CalcGainGivenWeight: float64 arithmetic with w (float32) and w * w in float32, returned as float32.
inline float gain_given_weight(double G, double H, float lambda, float w) {
  if (H <= 0.0) return 0.0f;
  const float w2 = w * w;
  return static_cast<float>(-(2.0 * G * w + (H + lambda) * w2 + 0.0));
}

inline float gain(double G, double H, float lambda) { return gain_given_weight(G, H, lambda, weight(G, H, lambda)); }

// XGBoost's CalcSplitGain for a valid split: the two sides' float32 gains added in float32.
inline float split_gain(double GL, double HL, double GR, double HR, float lambda) {
  return gain(GL, HL, lambda) + gain(GR, HR, lambda);
}

}  // namespace

float Fitter::predict_tree(const float* row) const {
  int n = 0;
  while (left_[n] >= 0) n = row[feature_[n]] < threshold_[n] ? left_[n] : right_[n];
  return leaf_[n];
}

void Fitter::grow_tree(const float* x, int k, int d, const Config& c) {
  const int max_nodes = (2 << c.max_depth) - 1;
  G_.assign(max_nodes, 0.0);
  H_.assign(max_nodes, 0);
  begin_.assign(max_nodes, 0);
  for (auto* v : {&weight_, &root_gain_, &threshold_, &leaf_}) v->assign(max_nodes, 0.0f);
  for (auto* v : {&feature_, &left_, &right_}) v->assign(max_nodes, -1);
  // Hessians are all 1, so a hessian sum is a row count, exact as an int; gradient sums are float64 as in XGBoost.
  double* G = G_.data();
  int* H = H_.data();
  int* pos = pos_.data();
  const float* grad = grad_.data();
  const double* inv = inv_.data();
  // Each feature's rows in ascending value order, grouped by node: node n owns positions [begin_[n], begin_[n] +
  // H[n]) of every feature's list, so one node's scan of one feature runs over contiguous memory with its running
  // sums in registers.
  const size_t dk = static_cast<size_t>(d) * k;
  rows_.assign(order_.begin(), order_.begin() + dk);
  vals_.assign(sorted_.begin(), sorted_.begin() + dk);
  grads_.resize(dk);
  for (size_t i = 0; i < dk; ++i) grads_[i] = grad[rows_[i]];
  int nodes = 1;
  // Node statistics in row order (XGBoost sums each node's gradients over its rows in row order).
  for (int i = 0; i < k; ++i) {
    pos[i] = 0;
    G[0] += grad[i];
    H[0] += 1;
  }
  weight_[0] = weight(G[0], H[0], c.lambda);
  root_gain_[0] = gain_given_weight(G[0], H[0], c.lambda, weight_[0]);
  frontier_.assign(1, 0);
  // A side needs hessian sum >= min_child_weight and > 0: at least this many rows.
  const int min_rows = std::max(1, static_cast<int>(std::ceil(static_cast<double>(c.min_child_weight))));
  constexpr double kMargin = 1.0 - 1e-5;  // covers XGBoost's float32 rounding of the gains (about 1e-7 relative)
  for (int depth = 0; depth < c.max_depth && !frontier_.empty(); ++depth) {
    next_.clear();
    for (int n : frontier_) {
      const int b = begin_[n], rows = H[n];
      const double Gn = G[n];
      const float rg = root_gain_[n];
      float best_loss = 0.0f, best_value = 0.0f;
      int best_feature = -1;
      double bar = rg * kMargin;
      for (int f = 0; f < d && rows >= 2 * min_rows; ++f) {
        const float* val = vals_.data() + static_cast<size_t>(f) * k + b;
        const float* gr = grads_.data() + static_cast<size_t>(f) * k + b;
        // Largest value first: the running sums are the right side.
        double tG = gr[rows - 1];
        int th = 1;
        float last = val[rows - 1];
        for (int idx = rows - 2; idx >= 0; --idx) {
          const float fv = val[idx];
          if (th >= min_rows && fv != last) {
            const int ch = rows - th;
            if (ch >= min_rows) {
              const double cG = Gn - tG;
              // Float64 score first: only a candidate that may beat the best so far gets XGBoost's exact score.
              if (cG * cG * inv[ch] + tG * tG * inv[th] >= bar) {
                const float loss = split_gain(cG, ch, tG, th, c.lambda) - rg;
                if (!std::isinf(loss) && loss > best_loss) {  // features ascend, so only a larger loss replaces
                  float split = (fv + last) * 0.5f;
                  if (split == fv) split = last;
                  best_loss = loss;
                  best_feature = f;
                  best_value = split;
                  bar = (static_cast<double>(rg) + loss) * kMargin;
                }
              }
            }
          }
          tG += gr[idx];
          ++th;
          last = fv;
        }
      }
      if (best_feature >= 0 && best_loss > kRtEps) {
        feature_[n] = best_feature;
        threshold_[n] = best_value;
        left_[n] = nodes++;
        right_[n] = nodes++;
        next_.push_back(n);
      } else {
        leaf_[n] = weight_[n] * c.eta;
      }
    }
    // Rows move to their children (left when x[f] < threshold), or leave the scans at a leaf.
    for (int i = 0; i < k; ++i) {
      const int n = pos[i];
      if (n < 0) continue;
      pos[i] = left_[n] < 0 ? -1 : (x[static_cast<size_t>(i) * d + feature_[n]] < threshold_[n] ? left_[n] : right_[n]);
    }
    frontier_.clear();
    for (int n : next_) {
      const int l = left_[n], r = right_[n];
      frontier_.push_back(l);
      frontier_.push_back(r);
      G[l] = G[r] = 0.0;
      H[l] = H[r] = 0;
    }
    for (int i = 0; i < k; ++i) {
      const int n = pos[i];
      if (n < 0) continue;
      G[n] += grad[i];
      H[n] += 1;
    }
    for (int n : frontier_) {
      weight_[n] = weight(G[n], H[n], c.lambda);
      root_gain_[n] = gain_given_weight(G[n], H[n], c.lambda, weight_[n]);
    }
    if (depth + 1 == c.max_depth) break;
    // Stable partition of every split node's segment of every feature list into its children's segments.
    for (int n : next_) {
      const int b = begin_[n], rows = H[left_[n]] + H[right_[n]], l = left_[n];
      begin_[l] = b;
      begin_[right_[n]] = b + H[l];
      for (int f = 0; f < d; ++f) {
        const size_t o = static_cast<size_t>(f) * k + b;
        int* rw = rows_.data() + o;
        float* vl = vals_.data() + o;
        float* gd = grads_.data() + o;
        int nl = 0, nr = 0;
        int* tr = tmp_rows_.data();
        float* tv = tmp_vals_.data();
        float* tg = tmp_grads_.data();
        for (int i = 0; i < rows; ++i) {  // branch-free: both copies are written, one counter moves
          const int row = rw[i];
          const float v = vl[i], g = gd[i];
          const int left = pos[row] == l;
          rw[nl] = row;
          vl[nl] = v;
          gd[nl] = g;
          tr[nr] = row;
          tv[nr] = v;
          tg[nr] = g;
          nl += left;
          nr += 1 - left;
        }
        std::copy(tmp_rows_.begin(), tmp_rows_.begin() + nr, rw + nl);
        std::copy(tmp_vals_.begin(), tmp_vals_.begin() + nr, vl + nl);
        std::copy(tmp_grads_.begin(), tmp_grads_.begin() + nr, gd + nl);
      }
    }
  }
  for (int n : frontier_) leaf_[n] = weight_[n] * c.eta;
}

void Fitter::fit_predict(const float* x, const float* y, int k, int d, const float* queries, int nq, const Config& c,
                         float* out) {
  for (int q = 0; q < nq; ++q) out[q] = c.base_score;
  if (k <= 0) return;
  order_.resize(static_cast<size_t>(d) * k);
  for (int f = 0; f < d; ++f) {
    int* ord = order_.data() + static_cast<size_t>(f) * k;
    std::iota(ord, ord + k, 0);
    std::stable_sort(ord, ord + k, [&](int a, int b) { return x[static_cast<size_t>(a) * d + f] < x[static_cast<size_t>(b) * d + f]; });
  }
  sorted_.resize(static_cast<size_t>(d) * k);
  for (int f = 0; f < d; ++f) {
    for (int i = 0; i < k; ++i) sorted_[static_cast<size_t>(f) * k + i] = x[static_cast<size_t>(order_[static_cast<size_t>(f) * k + i]) * d + f];
  }
  inv_.resize(static_cast<size_t>(k) + 1);
  for (int i = 0; i <= k; ++i) inv_[i] = 1.0 / (i + static_cast<double>(c.lambda));
  margin_.assign(k, c.base_score);
  tmp_rows_.resize(k);
  tmp_vals_.resize(k);
  tmp_grads_.resize(k);
  grad_.resize(k);
  pos_.resize(k);
  for (int t = 0; t < c.rounds; ++t) {
    for (int i = 0; i < k; ++i) grad_[i] = margin_[i] - y[i];
    grow_tree(x, k, d, c);
    for (int i = 0; i < k; ++i) margin_[i] += predict_tree(x + static_cast<size_t>(i) * d);
    for (int q = 0; q < nq; ++q) out[q] += predict_tree(queries + static_cast<size_t>(q) * d);
  }
}

}  // namespace incontext::gbdt

// Gradient-boosted regression trees on a few hundred rows, fitted by XGBoost's exact greedy algorithm (tree_method
// "exact", reg:squarederror), the kernel: plain C++, no torch types.
//
// What is computed (XGBoost's ColMaker with the pruner, for dense data without missing values and unit weights):
//   margin_0 = base_score for every row; for each of `rounds` rounds, gradients g_i = margin_i - y_i and hessians 1,
//   then one tree grown level by level to max_depth: at each level, each open node's best split over every feature
//   and every boundary between distinct values (scanned from the largest value down, so the left side holds the
//   smaller values and the threshold is the midpoint of the two values), scored
//       loss_chg = gain(left) + gain(right) - gain(node),  gain(G, H) = -(2 G w + (H + lambda) w^2), w = -G / (H + lambda)
//   with both sides' hessian sums >= min_child_weight; the node splits when its best loss_chg > 1e-6 (a candidate
//   replaces the best so far only when strictly larger, so ties keep the earlier feature and the larger threshold),
//   otherwise it becomes a leaf of value eta w. Rows go left when x[f] < threshold. The tree's leaf values are added
//   to the margins, and to the query's prediction, which starts at base_score.
// The arithmetic follows XGBoost's types: gradients and margins in float32, gradient sums in float64, weights and
// gains rounded to float32 where XGBoost rounds them, so the trees (and so the predictions) are XGBoost's own in all
// but float64 rounding-order ties.
//
// Speed: each candidate split is first scored in float64 with precomputed 1/(count + lambda) (three multiplications);
// only candidates within 1e-5 of the best so far get XGBoost's exact rounded score, which decides. Cost per booster
// about rounds x max_depth x d x k row visits.
#pragma once

#include <cstdint>
#include <vector>

namespace incontext::gbdt {

struct Config {
  int rounds;
  int max_depth;
  float eta;
  float lambda;
  float min_child_weight;
  float base_score;
};

// Scratch for one booster at a time; reusable across calls (grows as needed).
class Fitter {
 public:
  // Fits a booster to k rows x (row-major, k by d) with labels y and returns its prediction at each of the nq
  // queries (row-major, nq by d) in out.
  void fit_predict(const float* x, const float* y, int k, int d, const float* queries, int nq, const Config& c,
                   float* out);

 private:
  void grow_tree(const float* x, int k, int d, const Config& c);
  float predict_tree(const float* row) const;

  std::vector<int> order_;     // d x k: row indices sorted by feature value, ascending
  std::vector<float> sorted_;  // d x k: the values in that order
  std::vector<float> margin_, grad_;
  std::vector<int> pos_;     // each row's open node, -1 once its node is a leaf
  std::vector<double> inv_;  // 1 / (count + lambda)
  // nodes of the current tree
  std::vector<double> G_;     // gradient sums
  std::vector<int> H_;        // hessian sums (= row counts: every hessian is 1)
  std::vector<float> weight_, root_gain_, threshold_, leaf_;
  std::vector<int> feature_, left_, right_;
  // every feature's rows in value order, grouped by node (node n at [begin_[n], begin_[n] + H_[n]))
  std::vector<int> rows_, begin_, tmp_rows_;
  std::vector<float> vals_, grads_, tmp_vals_, tmp_grads_;
  std::vector<int> frontier_, next_;
};

}  // namespace incontext::gbdt

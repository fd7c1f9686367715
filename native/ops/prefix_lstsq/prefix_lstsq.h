// All-prefix least squares kernels: plain data in, no torch types.
//
// Layout: x (B, n, d), y (B, n), pred (B, n), all contiguous, one prompt after another. Prediction k uses the
// fit to points 0..k-1 and is evaluated at the query x[b, k]; prediction 0 is 0.
// lambda = 0 gives the minimum-norm least-squares fit; lambda > 0 gives ridge.
#pragma once

#include <cstdint>

namespace incontext::lstsq {

template <class T>
struct FwdParams {
  const T* x;
  const T* y;
  T* pred;
  int64_t B, n, d;
  double lambda;
};

template <class T>
struct BwdParams {
  const T* x;
  const T* y;
  const T* gpred;  // upstream gradient (B, n)
  T* gx;           // (B, n, d): through the fitted rows and through the query row
  T* gy;           // (B, n)
  int64_t B, n, d;
  double lambda;
};

// Naive reference for prompts [b_begin, b_end): every prefix solved independently in float64, with a
// one-sided Jacobi SVD (lambda = 0; singular values below max(k, d) * eps * sigma_max count as zero, as in
// numpy/torch pinv) or a Cholesky factorisation of X^T X + lambda I (lambda > 0).
template <class T>
void forward_reference(const FwdParams<T>& p, int64_t b_begin, int64_t b_end);
template <class T>
void backward_reference(const BwdParams<T>& p, int64_t b_begin, int64_t b_end);

}  // namespace incontext::lstsq

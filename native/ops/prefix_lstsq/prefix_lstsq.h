// All-prefix least squares kernels: plain data in, no torch types.
//
// Layout: x (B, n, d), y (B, n), queries (B, n, d), pred (B, n), weights (B, n, d), all contiguous, one prompt
// after another. Prediction k uses the fit to points 0..k-1 and is evaluated at the query q[b, k] (x[b, k] when
// no separate queries are given); prediction 0 is 0 and weight vector 0 is the zero vector.
// lambda[b] = 0 gives the minimum-norm least-squares fit for prompt b; lambda[b] > 0 gives ridge,
// (X^T X + lambda I)^{-1} X^T y.
#pragma once

#include <cstdint>

namespace incontext::lstsq {

template <class T>
struct FwdParams {
  const T* x;
  const T* y;
  const T* q;              // queries (B, n, d); nullptr means q = x
  const double* lambda;    // (B): per-prompt ridge strength, >= 0
  T* pred;                 // (B, n)
  T* w;                    // (B, n, d) fitted weights, or nullptr when not wanted
  int64_t B, n, d;
};

template <class T>
struct BwdParams {
  const T* x;
  const T* y;
  const T* q;              // queries, or nullptr (then the query gradient is added into gx)
  const double* lambda;    // (B)
  const T* gpred;          // upstream gradient (B, n)
  T* gx;                   // (B, n, d): through the fitted rows (and through the query row when q == nullptr)
  T* gy;                   // (B, n)
  T* gq;                   // (B, n, d) gradient into the queries, or nullptr when q == nullptr
  int64_t B, n, d;
};

// Naive reference for prompts [b_begin, b_end): every prefix solved independently in float64, with a
// one-sided Jacobi SVD (lambda = 0; singular values below max(k, d) * eps * sigma_max count as zero, as in
// numpy/torch pinv) or a Cholesky factorisation of X^T X + lambda I (lambda > 0).
template <class T>
void forward_reference(const FwdParams<T>& p, int64_t b_begin, int64_t b_end);
template <class T>
void backward_reference(const BwdParams<T>& p, int64_t b_begin, int64_t b_end);

// Fast incremental CPU forward (prefix_lstsq_fast.cpp) for the prompts listed in idx[i_begin, i_end): one pass
// per prompt, O(d^2) per point, float64 state, several prompts per SIMD lane group. `idx` lists prompt numbers
// that all have lambda == 0 (minimum norm) or all have lambda > 0 (ridge), as `ridge` says.
template <class T>
void forward_fast(const FwdParams<T>& p, const int64_t* idx, int64_t i_begin, int64_t i_end, bool ridge);

// Number of prompts processed together by forward_fast (callers split work in multiples of it).
int64_t fast_lanes();

// The instruction sets forward_fast is compiled for. fast_isa() is the one it uses: the widest the CPU has,
// capped by INCONTEXT_CPU_ISA=portable|avx2 in the environment. Tests run every supported one explicitly.
enum class FastIsa { portable, avx2, avx512 };
FastIsa fast_isa();
bool fast_isa_supported(FastIsa isa);
const char* fast_isa_name(FastIsa isa);
template <class T>
void forward_fast(const FwdParams<T>& p, const int64_t* idx, int64_t i_begin, int64_t i_end, bool ridge, FastIsa isa);

// CUDA (prefix_lstsq_cuda.cu): one thread block per prompt, state of dtype T (float or double) in shared
// memory. stream is a cudaStream_t. Returns a CUDA error string, or nullptr on success.
template <class T>
const char* forward_cuda(const FwdParams<T>& p, void* stream);

}  // namespace incontext::lstsq

// Fused attention on the CPU, the kernel body. Included twice: by attention_cpu_fast.cpp (portable flags) and by
// attention_cpu_fast_avx2.cpp (compiled with -mavx2 -mfma), each time inside its own namespace
// INCONTEXT_FAST_ISA, so that the two compilations never share a symbol (a shared inline function could be
// resolved by the linker to the AVX2 copy and run on a CPU without AVX2). For the same reason this file uses no
// standard-library templates: only raw pointers, GCC/Clang vector extensions and C math functions.
//
// Algorithm, per (b, h), all of it in cache (a few hundred KB at T = 1025, D = 128):
//   pack K^T (D x Tp) and V (T x Dp), zero-padded to the column block kCol = 16 (Tp, Dp = T, D rounded up);
//   forward, per group of kRows = 4 query rows i0..i0+3 (causal: keys 0..i0+3 only):
//     S = Q_rows K^T                          micro-kernel: 4 rows x 16 columns of float32 FMAs in registers
//     P = exp(scale S - m) / l row by row     vectorised exp (Cephes polynomial, ~1 ulp), lse = m + log l
//     O_rows = P V                            same micro-kernel
//   backward, per tile of kTile = 32 query rows, in groups of 4 rows:
//     P = exp(scale Q K^T - lse),  dP = dO V^T,  dS = scale P (dP - delta), delta_i = dO_i . O_i
//     dQ_rows = dS K;  after the tile: dV += P^T dO_tile,  dK += dS^T Q_tile  (A read transposed, Tp x Dp)
//   The T x T matrices never exist: S/P/dS live in a 32 x Tp scratch that the caller provides per thread.
// Shapes: contiguous (B, H, T, D), any T >= 1 and D >= 1. Cost O(B H T^2 D) FMAs (forward 2 T^2 D, backward
// 5 T^2 D; causal skips the key blocks past each row group), O(T D) scratch.
// Precision: float32 storage computes in float32 (row sums and delta in float64); error vs the float64
// reference is a few 1e-7 relative, tested at 1e-5. float64 storage computes in float64 (std exp).
//
// Not a standalone header: the includer defines INCONTEXT_FAST_ISA and includes attention.h and <math.h>.

namespace incontext::attn::INCONTEXT_FAST_ISA {

// Vector width in bytes: 32 (AVX2 and the portable build, which GCC lowers to SSE2 pairs) unless the including
// file asks for 64 (the AVX-512 build). Everything below is written in terms of W = lanes per vector.
#ifndef INCONTEXT_FAST_VECTOR_BYTES
#define INCONTEXT_FAST_VECTOR_BYTES 32
#endif
constexpr int64_t kCol = 16;   // columns of the micro-kernel's output block; the padding unit of T and D
// Rows of the micro-kernel's output block: with 256-bit vectors 4 rows x 2 vectors = 8 independent accumulators,
// enough to cover the FMA latency; with 512-bit vectors a 16-column block is one vector, so 8 rows keep 8 chains.
constexpr int kRows = INCONTEXT_FAST_VECTOR_BYTES == 64 ? 8 : 4;
constexpr int64_t kTile = 32;  // query rows per backward tile (the depth of the dK, dV updates)

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

template <class T>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(INCONTEXT_FAST_VECTOR_BYTES)));
  typedef int itype __attribute__((vector_size(INCONTEXT_FAST_VECTOR_BYTES)));
  typedef int ielem;
  static constexpr int W = INCONTEXT_FAST_VECTOR_BYTES / 4;
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(INCONTEXT_FAST_VECTOR_BYTES)));
  typedef long long itype __attribute__((vector_size(INCONTEXT_FAST_VECTOR_BYTES)));
  typedef long long ielem;
  static constexpr int W = INCONTEXT_FAST_VECTOR_BYTES / 8;
};
static_assert(kCol % Vec<float>::W == 0, "the column block must hold whole vectors");

template <class T>
inline typename Vec<T>::type vload(const T* p) {
  typename Vec<T>::type v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
inline void vstore(T* p, typename Vec<T>::type v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// C[r, c] (+)= sum_{k < K} A[r lda + k] B[k ldb + c] for r < R, c < ncol (a multiple of kCol). The 4 x 16 output
// block stays in registers over the whole k loop: per k, 2 vector loads of B and 4 broadcasts of A feed 8 FMAs
// (float). All four products of the op (Q K^T, P V, dO V^T, dS K, and the transposed dK/dV updates) use it.
// With AT = true, A is read transposed: element (r, k) at A[k lda + r] (4 adjacent values per k), which lets the
// dK/dV updates read P and dS (query-major) directly instead of transposing them.
template <class T, int R, bool AT = false>
inline void mm(const T* __restrict A, int64_t lda, const T* __restrict B, int64_t ldb, int64_t K, T* __restrict C,
               int64_t ldc, int64_t ncol, bool accumulate) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::W;
  constexpr int NV = kCol / W;
  for (int64_t c = 0; c < ncol; c += kCol) {
    V acc[R][NV];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = accumulate ? vload(C + r * ldc + c + v * W) : V{};
    const T* b = B + c;
    for (int64_t k = 0; k < K; ++k, b += ldb) {
      V bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = vload(b + v * W);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const T a = AT ? A[k * lda + r] : A[r * lda + k];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] += a * bv[v];
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) vstore(C + r * ldc + c + v * W, acc[r][v]);
  }
}

// mm for R = rows in 1..kRows (the last group of a sequence may be short).
template <class T>
inline void mm_rows(int64_t rows, const T* A, int64_t lda, const T* B, int64_t ldb, int64_t K, T* C, int64_t ldc,
                    int64_t ncol, bool accumulate) {
  switch (rows) {
    case 8: mm<T, kRows >= 8 ? 8 : 1>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
    case 7: mm<T, kRows >= 7 ? 7 : 1>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
    case 6: mm<T, kRows >= 6 ? 6 : 1>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
    case 5: mm<T, kRows >= 5 ? 5 : 1>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
    case 4: mm<T, 4>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
    case 3: mm<T, 3>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
    case 2: mm<T, 2>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
    default: mm<T, 1>(A, lda, B, ldb, K, C, ldc, ncol, accumulate); break;
  }
}

// C (rows x ncol) += A^T B with A stored K x rows (row stride lda): the dK/dV updates, rows taken 4 at a time.
template <class T>
inline void mm_t_all_rows(int64_t rows, const T* A, int64_t lda, const T* B, int64_t ldb, int64_t K, T* C, int64_t ldc,
                          int64_t ncol) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) mm<T, kRows, true>(A + r, lda, B, ldb, K, C + r * ldc, ldc, ncol, true);
  for (; r < rows; ++r) mm<T, 1, true>(A + r, lda, B, ldb, K, C + r * ldc, ldc, ncol, true);
}

// exp on 8 floats: Cephes expf (range reduction by ln 2 in two parts, degree-6 polynomial, 2^n by exponent bits),
// about 1 ulp; arguments below -87.3 give exactly 0 (masked keys are passed as -inf).
inline Vec<float>::type vexp(Vec<float>::type x) {
  using V = Vec<float>::type;
  using I = Vec<float>::itype;
  const V lo = V{} + -87.33654f, hi = V{} + 88.3762626647949f;
  const I dead = x < lo;
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  V fx = x * 1.44269504088896341f + 0.5f;
  V fl = __builtin_convertvector(__builtin_convertvector(fx, I), V);  // truncation toward zero
  const V one = V{} + 1.0f;
  fl = fl > fx ? fl - one : fl;                                      // now floor
  x = x - fl * 0.693359375f + fl * 2.12194440e-4f;
  const V z = x * x;
  V y = V{} + 1.9875691500E-4f;
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * z + x + 1.0f;
  const I e = (__builtin_convertvector(fl, I) + 127) << 23;
  V pow2;
  __builtin_memcpy(&pow2, &e, sizeof pow2);
  y = y * pow2;
  I bits;
  __builtin_memcpy(&bits, &y, sizeof bits);
  bits &= ~dead;
  __builtin_memcpy(&y, &bits, sizeof y);
  return y;
}

// p[j] = exp(x[j] - shift) for j < n (a multiple of kCol); returns the sum (float64) of those values.
inline double exp_shifted(float* p, int64_t n, float shift) {
  using V = Vec<float>::type;
  constexpr int W = Vec<float>::W;
  V sum{};
  for (int64_t j = 0; j < n; j += W) {
    const V e = vexp(vload(p + j) - shift);
    vstore(p + j, e);
    sum += e;
  }
  double s = 0;
  for (int w = 0; w < W; ++w) s += sum[w];
  return s;
}
inline double exp_shifted(double* p, int64_t n, double shift) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) {
    p[j] = ::exp(p[j] - shift);  // -inf gives 0
    s += p[j];
  }
  return s;
}
inline float log_of(double x, float) { return ::logf(static_cast<float>(x)); }
inline double log_of(double x, double) { return ::log(x); }

// x . y with W independent vector lanes (a single scalar chain is latency-bound), lanes summed in float64.
template <class T>
inline double dot_lanes(const T* x, const T* y, int64_t n) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::W;
  V acc{};
  int64_t j = 0;
  for (; j + W <= n; j += W) acc += vload(x + j) * vload(y + j);
  double s = 0;
  for (; j < n; ++j) s += static_cast<double>(x[j]) * static_cast<double>(y[j]);
  for (int w = 0; w < W; ++w) s += acc[w];
  return s;
}

// dst (cols x ld, row c holds src column c) from src (rows x cols, row stride cols): a plain transpose into a
// padded buffer whose columns past `rows` the caller has zeroed.
// Blocked by 8 source rows so that each destination row gets 8 adjacent stores per pass.
template <class T>
inline void transpose_into(const T* src, int64_t rows, int64_t cols, T* dst, int64_t ld) {
  int64_t i0 = 0;
  for (; i0 + 8 <= rows; i0 += 8)
    for (int64_t c = 0; c < cols; ++c) {
      T* d = dst + c * ld + i0;
      const T* s = src + i0 * cols + c;
#pragma GCC unroll 8
      for (int ii = 0; ii < 8; ++ii) d[ii] = s[ii * cols];
    }
  for (int64_t i = i0; i < rows; ++i)
    for (int64_t c = 0; c < cols; ++c) dst[c * ld + i] = src[i * cols + c];
}
template <class T>
inline void zero(T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = T(0);
}
template <class T>
inline void copy_pad(const T* src, int64_t rows, int64_t cols, T* dst, int64_t ld) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t c = 0; c < cols; ++c) dst[i * ld + c] = src[i * cols + c];
    for (int64_t c = cols; c < ld; ++c) dst[i * ld + c] = T(0);
  }
}

// x[j] *= scale for j < valid, x[j] = -inf for valid <= j < n (n a multiple of kCol); returns max_j x[j].
// Vectorised by hand: a scalar loop with a max reduction does not vectorise without -ffast-math.
template <class T>
inline T scale_mask_max(T* x, int64_t n, int64_t valid, T scale) {
  using V = typename Vec<T>::type;
  using I = typename Vec<T>::itype;
  constexpr int W = Vec<T>::W;
  const V ninf = V{} - __builtin_inf();
  I idx;
  for (int w = 0; w < W; ++w) idx[w] = w;
  V vm = ninf;
  for (int64_t j = 0; j < n; j += W, idx += W) {
    V v = vload(x + j) * scale;
    v = idx < static_cast<typename Vec<T>::ielem>(valid) ? v : ninf;
    vstore(x + j, v);
    vm = vm > v ? vm : v;
  }
  T m = vm[0];
  for (int w = 1; w < W; ++w) m = vm[w] > m ? vm[w] : m;
  return m;
}
template <class T>
inline void scale_by(T* x, int64_t n, T f) {
  for (int64_t j = 0; j < n; j += Vec<T>::W) vstore(x + j, vload(x + j) * f);
}

// Whether every element of x[0..n) is finite: x * 0 is 0 for finite x and NaN for an infinity or a NaN, so one
// vector pass accumulates the answer. The kernels run it on the inputs they pack anyway, which lets the binding
// skip a separate isfinite pass over q, k and v on the hot path.
template <class T>
inline bool all_finite(const T* x, int64_t n) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::W;
  V acc{};
  int64_t j = 0;
  for (; j + W <= n; j += W) acc += vload(x + j) * T(0);
  T tail = 0;
  for (; j < n; ++j) tail += x[j] * T(0);
  for (int w = 0; w < W; ++w) tail += acc[w];
  return tail == tail;
}

template <class T>
int64_t forward_scratch(int64_t T_, int64_t D) {
  const int64_t Tp = round_up(T_, kCol), Dp = round_up(D, kCol);
  return D * Tp + T_ * Dp + kRows * Tp + kRows * Dp;
}
template <class T>
int64_t backward_scratch(int64_t T_, int64_t D) {
  const int64_t Tp = round_up(T_, kCol), Dp = round_up(D, kCol);
  return 2 * D * Tp + 5 * Tp * Dp + 2 * kTile * Tp + kRows * Dp;
}

// Returns false when an input element is not finite (the outputs are then meaningless; the binding reports it).
template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch) {
  const int64_t T_ = p.T_, D = p.D, Tp = round_up(T_, kCol), Dp = round_up(D, kCol);
  const T scale = static_cast<T>(p.scale);
  T* Kt = scratch;           // D x Tp
  T* Vp = Kt + D * Tp;       // T x Dp
  T* S = Vp + T_ * Dp;       // kRows x Tp: scores, then probabilities
  T* Ob = S + kRows * Tp;    // kRows x Dp
  bool finite = true;
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const int64_t off = bh * T_ * D;
    const T* q = p.q + off;
    finite = finite && all_finite(q, T_ * D) && all_finite(p.k + off, T_ * D) && all_finite(p.v + off, T_ * D);
    zero(Kt, D * Tp);
    transpose_into(p.k + off, T_, D, Kt, Tp);
    copy_pad(p.v + off, T_, D, Vp, Dp);
    for (int64_t i0 = 0; i0 < T_; i0 += kRows) {
      const int64_t R = min64(kRows, T_ - i0);
      const int64_t nk = p.causal ? i0 + R : T_;
      const int64_t ncol = round_up(nk, kCol);
      mm_rows(R, q + i0 * D, D, Kt, Tp, D, S, Tp, ncol, false);
      for (int64_t r = 0; r < R; ++r) {
        T* s = S + r * Tp;
        const int64_t nkr = p.causal ? i0 + r + 1 : T_;
        const T m = scale_mask_max(s, ncol, nkr, scale);
        const double l = exp_shifted(s, ncol, m);
        scale_by(s, ncol, static_cast<T>(1.0 / l));  // masked columns are 0 already
        p.lse[bh * T_ + i0 + r] = m + log_of(l, T());
      }
      mm_rows(R, S, Tp, Vp, Dp, nk, Ob, Dp, Dp, false);
      T* o = p.o + off + i0 * D;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t d = 0; d < D; ++d) o[r * D + d] = Ob[r * Dp + d];
    }
  }
  return finite;
}

template <class T>
void backward_fast(const BwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch) {
  const int64_t T_ = p.T_, D = p.D, Tp = round_up(T_, kCol), Dp = round_up(D, kCol);
  const T scale = static_cast<T>(p.scale);
  T* Kt = scratch;             // D x Tp   K^T, for S = Q K^T
  T* Vt = Kt + D * Tp;         // D x Tp   V^T, for dP = dO V^T
  T* Kp = Vt + D * Tp;         // Tp x Dp  K, for dQ = dS K
  T* Qp = Kp + Tp * Dp;        // Tp x Dp  Q, for dK += dS^T Q
  T* dOp = Qp + Tp * Dp;       // Tp x Dp  dO, for dV += P^T dO
  T* dKa = dOp + Tp * Dp;      // Tp x Dp  accumulators (rows past T catch zeros from padded columns)
  T* dVa = dKa + Tp * Dp;      // Tp x Dp
  T* P = dVa + Tp * Dp;        // kTile x Tp
  T* dS = P + kTile * Tp;      // kTile x Tp
  T* dQb = dS + kTile * Tp;    // kRows x Dp
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const int64_t off = bh * T_ * D;
    const T *q = p.q + off, *o = p.o + off, *dout = p.dout + off;
    const T* lse = p.lse + bh * T_;
    zero(Kt, 2 * D * Tp);
    transpose_into(p.k + off, T_, D, Kt, Tp);
    transpose_into(p.v + off, T_, D, Vt, Tp);
    zero(Kp, 5 * Tp * Dp);  // padded rows and columns of the four row-major copies, and the accumulators
    copy_pad(p.k + off, T_, D, Kp, Dp);
    copy_pad(q, T_, D, Qp, Dp);
    copy_pad(dout, T_, D, dOp, Dp);
    for (int64_t t0 = 0; t0 < T_; t0 += kTile) {
      const int64_t rows = min64(kTile, T_ - t0);
      const int64_t ncol_tile = round_up(p.causal ? t0 + rows : T_, kCol);
      for (int64_t g = 0; g < rows; g += kRows) {
        const int64_t i0 = t0 + g, R = min64(kRows, rows - g);
        const int64_t nk = p.causal ? i0 + R : T_;
        const int64_t ncol = round_up(nk, kCol);
        T* Pg = P + g * Tp;
        T* dSg = dS + g * Tp;
        mm_rows(R, q + i0 * D, D, Kt, Tp, D, Pg, Tp, ncol, false);
        mm_rows(R, dout + i0 * D, D, Vt, Tp, D, dSg, Tp, ncol, false);
        for (int64_t r = 0; r < R; ++r) {
          const int64_t i = i0 + r, nkr = p.causal ? i + 1 : T_;
          const T dlt = static_cast<T>(dot_lanes(dout + i * D, o + i * D, D));
          T* pr = Pg + r * Tp;
          T* dsr = dSg + r * Tp;
          scale_mask_max(pr, ncol, nkr, scale);
          exp_shifted(pr, ncol, lse[i]);
          for (int64_t j = 0; j < ncol; ++j) dsr[j] = pr[j] * (dsr[j] - dlt) * scale;
          // Columns past this group's keys but inside the tile's must read as zero in the dK/dV updates.
          for (int64_t j = ncol; j < ncol_tile; ++j) pr[j] = dsr[j] = T(0);
        }
        mm_rows(R, dSg, Tp, Kp, Dp, nk, dQb, Dp, Dp, false);
        T* dq = p.dq + off + i0 * D;
        for (int64_t r = 0; r < R; ++r)
          for (int64_t d = 0; d < D; ++d) dq[r * D + d] = dQb[r * Dp + d];
      }
      // dV[j] += sum_i P[i, j] dO[i] and dK[j] += sum_i dS[i, j] Q[i] over the tile's queries i, keys j < ncol_tile.
      mm_t_all_rows(ncol_tile, P, Tp, dOp + t0 * Dp, Dp, rows, dVa, Dp, Dp);
      mm_t_all_rows(ncol_tile, dS, Tp, Qp + t0 * Dp, Dp, rows, dKa, Dp, Dp);
    }
    for (int64_t j = 0; j < T_; ++j)
      for (int64_t d = 0; d < D; ++d) {
        p.dk[off + j * D + d] = dKa[j * Dp + d];
        p.dv[off + j * D + d] = dVa[j * Dp + d];
      }
  }
}

}  // namespace incontext::attn::INCONTEXT_FAST_ISA

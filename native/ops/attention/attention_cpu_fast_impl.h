// Fused attention on the CPU, the kernel body. Included twice: by attention_cpu_fast.cpp (portable flags) and by
// attention_cpu_fast_avx2.cpp (compiled with -mavx2 -mfma), each time inside its own namespace
// INCONTEXT_FAST_ISA, so that the two compilations never share a symbol (a shared inline function could be
// resolved by the linker to the AVX2 copy and run on a CPU without AVX2). For the same reason this file uses no
// standard-library templates: only raw pointers, GCC/Clang vector extensions and C math functions.
//
// Algorithm, per (b, h), all of it in cache (a few hundred KB at T = 1025, D = 128):
//   pack K^T (D x Tp) and V (T x Dp), zero-padded to the column block kCol = 16 (Tp, Dp = T, D rounded up);
//   forward, per group of kRows = 4 query rows i0..i0+3 (causal: keys 0..i0+3 only):
//     S = Q_rows K^T                          micro-kernel: kRows rows x 16 (or 32) columns of FMAs in registers
//     E = exp(scale S - m) row by row         two passes (max, then exp and sum); vectorised exp (Cephes
//                                             polynomial, ~1 ulp); lse = m + log l, l = row sum of E
//     O_rows = (E V) / l                      same micro-kernel; the 1/l goes on the D outputs, not the T inputs
//   backward, per tile of kTile = 32 query rows, in groups of kRows rows:
//     delta_i = dO_i . O_i for every row first, then per group
//     P = exp(scale Q K^T - lse),  dP = dO V^T,  dS = scale P (dP - delta)   (one pass over the row)
//     dQ_rows = dS K;  after the tile: dV += P^T dO_tile,  dK += dS^T Q_tile  (A read transposed, Tp x Dp)
//   The T x T matrices never exist: S/P/dS live in a 32 x Tp scratch that the caller provides per thread.
// Shapes: contiguous (B, H, T, D), any T >= 1 and D >= 1. Cost O(B H T^2 D) FMAs (forward 2 T^2 D, backward
// 5 T^2 D; causal skips the key blocks past each row group), O(T D) scratch.
// Precision: float32 storage computes in float32 (row sums and delta summed by lanes, the lanes as a tree); error
// vs the float64 reference is a few 1e-7 relative, tested at 1e-5. float64 storage computes in float64 (std exp).
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

// C[r, c] (+)= sum_{k < K} A[r lda + k] B[k ldb + c] for r < R, c < ncol (a multiple of kCol). Each R x (NV
// vectors) output block stays in registers over the whole k loop: per k, NV vector loads of B and R broadcasts of
// A feed R x NV FMAs. All four products of the op (Q K^T, P V, dO V^T, dS K, and the transposed dK/dV updates) use
// it. With AT = true, A is read transposed: element (r, k) at A[k lda + r] (R adjacent values per k), which lets
// the dK/dV updates read P and dS (query-major) directly instead of transposing them.
template <class T, int R, int NV, bool AT>
inline void mm_block(const T* __restrict A, int64_t lda, const T* __restrict b, int64_t ldb, int64_t K,
                     T* __restrict C, int64_t ldc, bool accumulate) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::W;
  V acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = accumulate ? vload(C + r * ldc + v * W) : V{};
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
    for (int v = 0; v < NV; ++v) vstore(C + r * ldc + v * W, acc[r][v]);
}

// Column blocks of mm: kCol wide, or twice that where one kCol block is a single vector (512-bit float), so that
// each broadcast of A feeds two FMAs instead of one (8 rows x 2 vectors = 16 accumulators of the 32 registers).
template <class T>
constexpr int kNarrowVectors = kCol / Vec<T>::W;
template <class T>
constexpr int kWideVectors = kNarrowVectors<T> == 1 ? 2 : kNarrowVectors<T>;

template <class T, int R, bool AT = false>
inline void mm(const T* __restrict A, int64_t lda, const T* __restrict B, int64_t ldb, int64_t K, T* __restrict C,
               int64_t ldc, int64_t ncol, bool accumulate) {
  constexpr int W = Vec<T>::W;
  constexpr int64_t wide = kWideVectors<T> * W;
  int64_t c = 0;
  if constexpr (wide > kCol)
    for (; c + wide <= ncol; c += wide) mm_block<T, R, kWideVectors<T>, AT>(A, lda, B + c, ldb, K, C + c, ldc, accumulate);
  for (; c < ncol; c += kCol) mm_block<T, R, kNarrowVectors<T>, AT>(A, lda, B + c, ldb, K, C + c, ldc, accumulate);
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

// C (rows x ncol) += A^T B with A stored K x rows (row stride lda): the dK/dV updates, rows taken kRows at a time.
// With first_query >= 0 (causal), output row r (key r) takes only k >= r - first_query (queries first_query + k at or
// after the key): A is zero before that, so each row block skips the masked part of the tile's triangle instead of
// adding zeros (same sums, same order for the rest). Rows from fresh_from on are written, not accumulated: this tile
// is the first to reach them (a row with nothing to take is then left unwritten; the caller reads none such).
template <class T>
inline void mm_t_all_rows(int64_t rows, const T* A, int64_t lda, const T* B, int64_t ldb, int64_t K, T* C, int64_t ldc,
                          int64_t ncol, int64_t first_query, int64_t fresh_from) {
  auto skip = [&](int64_t r) { return first_query < 0 || r <= first_query ? 0 : min64(K, r - first_query); };
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) {
    const int64_t s = skip(r);
    if (s < K)
      mm<T, kRows, true>(A + s * lda + r, lda, B + s * ldb, ldb, K - s, C + r * ldc, ldc, ncol, r < fresh_from);
  }
  for (; r < rows; ++r) {
    const int64_t s = skip(r);
    if (s < K) mm<T, 1, true>(A + s * lda + r, lda, B + s * ldb, ldb, K - s, C + r * ldc, ldc, ncol, r < fresh_from);
  }
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

// Horizontal sum and max of one vector as a tree (depth log2 W), not a chain of W - 1 dependent scalar operations.
template <class T, class Op>
inline T hreduce(typename Vec<T>::type v, Op op) {
  constexpr int W = Vec<T>::W;
  T a[W];
  __builtin_memcpy(a, &v, sizeof a);
#pragma GCC unroll 8
  for (int w = W / 2; w >= 1; w /= 2)
#pragma GCC unroll 16
    for (int i = 0; i < w; ++i) a[i] = op(a[i], a[i + w]);
  return a[0];
}
template <class T>
inline T hsum(typename Vec<T>::type v) {
  return hreduce<T>(v, [](T x, T y) { return x + y; });
}
template <class T>
inline T hmax(typename Vec<T>::type v) {
  return hreduce<T>(v, [](T x, T y) { return y > x ? y : x; });
}
template <class T>
inline typename Vec<T>::itype lane_index() {
  typename Vec<T>::itype idx;
  for (int w = 0; w < Vec<T>::W; ++w) idx[w] = w;
  return idx;
}

// max_{j < valid} scale x[j], reading x[0..n) (n a multiple of kCol, valid >= 1).
// Vectorised by hand: a scalar loop with a max reduction does not vectorise without -ffast-math.
template <class T>
inline T scaled_max(const T* x, int64_t n, int64_t valid, T scale) {
  using V = typename Vec<T>::type;
  using I = typename Vec<T>::itype;
  constexpr int W = Vec<T>::W;
  const V ninf = V{} - __builtin_inf();
  I idx = lane_index<T>();
  V vm = ninf;
  for (int64_t j = 0; j < n; j += W, idx += W) {
    V v = vload(x + j) * scale;
    v = idx < static_cast<typename Vec<T>::ielem>(valid) ? v : ninf;
    vm = vm > v ? vm : v;
  }
  return hmax<T>(vm);
}

// x[j] = exp(scale x[j] - shift) for j < valid, 0 for valid <= j < n (n a multiple of kCol); returns the sum.
inline float exp_scaled(float* x, int64_t n, int64_t valid, float scale, float shift) {
  using V = Vec<float>::type;
  using I = Vec<float>::itype;
  constexpr int W = Vec<float>::W;
  I idx = lane_index<float>();
  V sum{};
  for (int64_t j = 0; j < n; j += W, idx += W) {
    V e = vexp(vload(x + j) * scale - shift);
    e = idx < static_cast<int>(valid) ? e : V{};
    vstore(x + j, e);
    sum += e;
  }
  return hsum<float>(sum);
}
inline double exp_scaled(double* x, int64_t n, int64_t valid, double scale, double shift) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = j < valid ? ::exp(x[j] * scale - shift) : 0.0;
    s += x[j];
  }
  return s;
}
inline float log_of(double x, float) { return ::logf(static_cast<float>(x)); }
inline double log_of(double x, double) { return ::log(x); }

// The backward's row pass, in one sweep over j < n (a multiple of kCol): p[j] = exp(scale p[j] - lse) (the
// probabilities, recomputed from the scores p holds on entry), ds[j] = scale p[j] (ds[j] - delta) (ds holds dP on
// entry); both 0 for valid <= j.
inline void probs_and_grad(float* p, float* ds, int64_t n, int64_t valid, float scale, float lse, float delta) {
  using V = Vec<float>::type;
  using I = Vec<float>::itype;
  constexpr int W = Vec<float>::W;
  I idx = lane_index<float>();
  for (int64_t j = 0; j < n; j += W, idx += W) {
    V e = vexp(vload(p + j) * scale - lse);
    e = idx < static_cast<int>(valid) ? e : V{};
    vstore(p + j, e);
    vstore(ds + j, e * (vload(ds + j) - delta) * scale);
  }
}
inline void probs_and_grad(double* p, double* ds, int64_t n, int64_t valid, double scale, double lse,
                           double delta) {
  for (int64_t j = 0; j < n; ++j) {
    p[j] = j < valid ? ::exp(p[j] * scale - lse) : 0.0;
    ds[j] = p[j] * (ds[j] - delta) * scale;
  }
}

// x . y: W lanes, then the lanes as a tree.
template <class T>
inline T dot_lanes(const T* x, const T* y, int64_t n) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::W;
  V acc{};
  int64_t j = 0;
  for (; j + W <= n; j += W) acc += vload(x + j) * vload(y + j);
  T s = hsum<T>(acc);
  for (; j < n; ++j) s += x[j] * y[j];
  return s;
}

// dst (cols x ld, row c holds src column c) from src (rows x cols, row stride lds): a plain transpose into a
// padded buffer whose columns past `rows` the caller has zeroed.
// Blocked by 8 source rows so that each destination row gets 8 adjacent stores per pass.
// float32: whole 8 x 8 blocks go through registers (eight row loads, three rounds of two-vector shuffles, eight
// stores: the classic unpack / pair / half exchange); the scalar element-by-element copy was the backward kernel's
// largest own cost in a profile of the small GPT-2 step once K and V were read as head views (rows 3 H D apart).
typedef float F8 __attribute__((vector_size(32)));
typedef int I8 __attribute__((vector_size(32)));
inline F8 load8(const float* p) {
  F8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  const F8 r0 = load8(src), r1 = load8(src + lds), r2 = load8(src + 2 * lds), r3 = load8(src + 3 * lds);
  const F8 r4 = load8(src + 4 * lds), r5 = load8(src + 5 * lds), r6 = load8(src + 6 * lds), r7 = load8(src + 7 * lds);
  const I8 lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
  const F8 t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r0, r1, hi);
  const F8 t2 = __builtin_shuffle(r2, r3, lo), t3 = __builtin_shuffle(r2, r3, hi);
  const F8 t4 = __builtin_shuffle(r4, r5, lo), t5 = __builtin_shuffle(r4, r5, hi);
  const F8 t6 = __builtin_shuffle(r6, r7, lo), t7 = __builtin_shuffle(r6, r7, hi);
  const I8 plo = {0, 1, 8, 9, 4, 5, 12, 13}, phi = {2, 3, 10, 11, 6, 7, 14, 15};
  const F8 u0 = __builtin_shuffle(t0, t2, plo), u1 = __builtin_shuffle(t0, t2, phi);
  const F8 u2 = __builtin_shuffle(t1, t3, plo), u3 = __builtin_shuffle(t1, t3, phi);
  const F8 u4 = __builtin_shuffle(t4, t6, plo), u5 = __builtin_shuffle(t4, t6, phi);
  const F8 u6 = __builtin_shuffle(t5, t7, plo), u7 = __builtin_shuffle(t5, t7, phi);
  const I8 hlo = {0, 1, 2, 3, 8, 9, 10, 11}, hhi = {4, 5, 6, 7, 12, 13, 14, 15};
  const F8 out[8] = {__builtin_shuffle(u0, u4, hlo), __builtin_shuffle(u1, u5, hlo), __builtin_shuffle(u2, u6, hlo),
                     __builtin_shuffle(u3, u7, hlo), __builtin_shuffle(u0, u4, hhi), __builtin_shuffle(u1, u5, hhi),
                     __builtin_shuffle(u2, u6, hhi), __builtin_shuffle(u3, u7, hhi)};
  for (int k = 0; k < 8; ++k) __builtin_memcpy(dst + k * ldd, &out[k], sizeof out[k]);
}

template <class T>
inline void transpose_into(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ld) {
  int64_t i0 = 0;
  for (; i0 + 8 <= rows; i0 += 8) {
    int64_t c0 = 0;
    if constexpr (sizeof(T) == sizeof(float)) {
      for (; c0 + 8 <= cols; c0 += 8) transpose8x8(src + i0 * lds + c0, lds, dst + c0 * ld + i0, ld);
    }
    for (int64_t c = c0; c < cols; ++c) {
      T* d = dst + c * ld + i0;
      const T* s = src + i0 * lds + c;
#pragma GCC unroll 8
      for (int ii = 0; ii < 8; ++ii) d[ii] = s[ii * lds];
    }
  }
  for (int64_t i = i0; i < rows; ++i)
    for (int64_t c = 0; c < cols; ++c) dst[c * ld + i] = src[i * lds + c];
}
template <class T>
inline void zero(T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = T(0);
}
template <class T>
inline void copy_pad(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ld) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t c = 0; c < cols; ++c) dst[i * ld + c] = src[i * lds + c];
    for (int64_t c = cols; c < ld; ++c) dst[i * ld + c] = T(0);
  }
}

// Whether every element of x[0..n) is finite: x * 0 is 0 for finite x and NaN for an infinity or a NaN, so one
// vector pass accumulates the answer. The kernels run it on the inputs they pack anyway, which lets the binding
// skip a separate isfinite pass over q, k and v on the hot path.
template <class T>
inline bool all_finite(const T* x, int64_t n) {
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::W;
  V a0{}, a1{}, a2{}, a3{};  // four independent chains: one would be bound by the add latency
  int64_t j = 0;
  for (; j + 4 * W <= n; j += 4 * W) {
    a0 += vload(x + j) * T(0);
    a1 += vload(x + j + W) * T(0);
    a2 += vload(x + j + 2 * W) * T(0);
    a3 += vload(x + j + 3 * W) * T(0);
  }
  for (; j + W <= n; j += W) a0 += vload(x + j) * T(0);
  T tail = hsum<T>((a0 + a1) + (a2 + a3));
  for (; j < n; ++j) tail += x[j] * T(0);
  return tail == tail;
}

// Whether every element of a rows x cols block with row stride ld is finite: one pass when the rows are adjacent;
// otherwise the same x * 0 accumulation over the rows, two rows at a time into four independent chains and one
// horizontal sum at the end (a call of all_finite per row spent most of its time in the per-row sum and the chain's
// latency: a profile of the small GPT-2 step put it at a quarter of the forward kernel's own time).
template <class T>
inline bool rows_finite(const T* x, int64_t rows, int64_t cols, int64_t ld) {
  if (ld == cols) return all_finite(x, rows * cols);
  using V = typename Vec<T>::type;
  constexpr int W = Vec<T>::W;
  V a0{}, a1{}, a2{}, a3{};
  T tail = T(0);
  const int64_t vec_cols = cols - cols % W;
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const T *x0 = x + r * ld, *x1 = x0 + ld;
    int64_t j = 0;
    for (; j + 2 * W <= vec_cols; j += 2 * W) {
      a0 += vload(x0 + j) * T(0);
      a1 += vload(x0 + j + W) * T(0);
      a2 += vload(x1 + j) * T(0);
      a3 += vload(x1 + j + W) * T(0);
    }
    for (; j < vec_cols; j += W) {
      a0 += vload(x0 + j) * T(0);
      a2 += vload(x1 + j) * T(0);
    }
    for (; j < cols; ++j) tail += x0[j] * T(0) + x1[j] * T(0);
  }
  for (; r < rows; ++r) {
    const T* x0 = x + r * ld;
    int64_t j = 0;
    for (; j < vec_cols; j += W) a1 += vload(x0 + j) * T(0);
    for (; j < cols; ++j) tail += x0[j] * T(0);
  }
  const T sum = hsum<T>((a0 + a1) + (a2 + a3)) + tail;
  return sum == sum;
}

template <class T>
int64_t forward_scratch(int64_t T_, int64_t D) {
  const int64_t Tp = round_up(T_, kCol), Dp = round_up(D, kCol);
  return D * Tp + T_ * Dp + kRows * Tp + kRows * Dp;
}
template <class T>
int64_t backward_scratch(int64_t T_, int64_t D) {
  const int64_t Tp = round_up(T_, kCol), Dp = round_up(D, kCol);
  return 2 * D * Tp + 5 * Tp * Dp + 2 * kTile * Tp + kRows * Dp + Tp;
}

// Zero the padding columns [cols, ld) of a rows x ld buffer.
template <class T>
inline void zero_pad_columns(T* x, int64_t rows, int64_t cols, int64_t ld) {
  if (cols < ld)
    for (int64_t r = 0; r < rows; ++r) zero(x + r * ld + cols, ld - cols);
}

// Returns false when an input element is not finite (the outputs are then meaningless; the binding reports it).
template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch) {
  const int64_t T_ = p.T_, D = p.D, Tp = round_up(T_, kCol), Dp = round_up(D, kCol);
  const T scale = static_cast<T>(p.scale);
  T* Kt = scratch;           // D x Tp
  T* Vp = Kt + D * Tp;       // T x Dp
  T* S = Vp + T_ * Dp;       // kRows x Tp: scores, then unnormalised probabilities
  T* Ob = S + kRows * Tp;    // kRows x Dp
  zero_pad_columns(Kt, D, T_, Tp);  // the transposes below never write them
  bool finite = true;
  const int64_t si = p.in.st, so = p.out.st;  // row strides of q, k, v and of o
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const int64_t ioff = p.in.at(bh, p.H);
    const T *q = p.q + ioff, *k = p.k + ioff, *v = p.v + ioff;
    finite = finite && rows_finite(q, T_, D, si) && rows_finite(k, T_, D, si) && rows_finite(v, T_, D, si);
    transpose_into(k, T_, D, si, Kt, Tp);
    // Row-major V: the input itself when its rows are whole column blocks (rows below T only are read).
    const T* Vr = Dp == D ? v : Vp;
    if (Dp != D) copy_pad(v, T_, D, si, Vp, Dp);
    for (int64_t i0 = 0; i0 < T_; i0 += kRows) {
      const int64_t R = min64(kRows, T_ - i0);
      const int64_t nk = p.causal ? i0 + R : T_;
      const int64_t ncol = round_up(nk, kCol);
      mm_rows(R, q + i0 * si, si, Kt, Tp, D, S, Tp, ncol, false);
      T inv_l[kRows];
      for (int64_t r = 0; r < R; ++r) {
        T* s = S + r * Tp;
        const int64_t nkr = p.causal ? i0 + r + 1 : T_;
        const T m = scaled_max(s, ncol, nkr, scale);
        const T l = exp_scaled(s, ncol, nkr, scale, m);  // masked columns become 0
        inv_l[r] = T(1) / l;
        p.lse[bh * T_ + i0 + r] = m + log_of(l, T());
      }
      mm_rows(R, S, Tp, Vr, Dp == D ? si : Dp, nk, Ob, Dp, Dp, false);
      T* o = p.o + p.out.at(bh, p.H) + i0 * so;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t d = 0; d < D; ++d) o[r * so + d] = Ob[r * Dp + d] * inv_l[r];
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
  T* dKa = dOp + Tp * Dp;      // Tp x Dp  accumulators, where D is not a whole number of column blocks
  T* dVa = dKa + Tp * Dp;      // Tp x Dp
  T* P = dVa + Tp * Dp;        // kTile x Tp
  T* dS = P + kTile * Tp;      // kTile x Tp
  T* dQb = dS + kTile * Tp;    // kRows x Dp
  T* delta = dQb + kRows * Dp; // Tp
  // Padding the packing below never writes: columns past T of the transposes, rows past T of the row-major copies.
  zero_pad_columns(Kt, 2 * D, T_, Tp);
  zero(Kp + T_ * Dp, (Tp - T_) * Dp);
  zero(Qp + T_ * Dp, (Tp - T_) * Dp);
  zero(dOp + T_ * Dp, (Tp - T_) * Dp);
  // With D a whole number of column blocks (Dp = D) the products write dQ, dK and dV in place, rows of D; otherwise
  // into padded scratch rows of Dp, copied out.
  const bool direct = Dp == D;
  const int64_t si = p.in.st, so = p.out.st;  // row strides of q, k, v and of o, dout, dq, dk, dv
  for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
    const int64_t ioff = p.in.at(bh, p.H), ooff = p.out.at(bh, p.H);
    const T *q = p.q + ioff, *k = p.k + ioff, *v = p.v + ioff, *o = p.o + ooff, *dout = p.dout + ooff;
    const T* lse = p.lse + bh * T_;
    T* dK = direct ? p.dk + ooff : dKa;
    T* dV = direct ? p.dv + ooff : dVa;
    const int64_t key_rows = direct ? T_ : Tp;  // scratch rows past T may take (zero) padding sums
    transpose_into(k, T_, D, si, Kt, Tp);
    transpose_into(v, T_, D, si, Vt, Tp);
    // Row-major K, Q and dO: the inputs themselves when their rows are whole column blocks (only rows below T are
    // read), padded copies otherwise; dK and dV likewise written in place or into padded accumulators.
    const int64_t ldi = direct ? si : Dp, ldo = direct ? so : Dp;
    const T* Kr = direct ? k : Kp;
    const T* Qr = direct ? q : Qp;
    const T* dOr = direct ? dout : dOp;
    if (!direct) {
      copy_pad(k, T_, D, si, Kp, Dp);
      copy_pad(q, T_, D, si, Qp, Dp);
      copy_pad(dout, T_, D, so, dOp, Dp);
    }
    for (int64_t i = 0; i < T_; ++i) delta[i] = dot_lanes(dout + i * so, o + i * so, D);
    int64_t reached = 0;  // keys [0, reached) hold sums from earlier tiles
    for (int64_t t0 = 0; t0 < T_; t0 += kTile) {
      const int64_t rows = min64(kTile, T_ - t0);
      const int64_t ncol_tile = round_up(p.causal ? t0 + rows : T_, kCol);
      for (int64_t g = 0; g < rows; g += kRows) {
        const int64_t i0 = t0 + g, R = min64(kRows, rows - g);
        const int64_t nk = p.causal ? i0 + R : T_;
        const int64_t ncol = round_up(nk, kCol);
        T* Pg = P + g * Tp;
        T* dSg = dS + g * Tp;
        mm_rows(R, q + i0 * si, si, Kt, Tp, D, Pg, Tp, ncol, false);
        mm_rows(R, dout + i0 * so, so, Vt, Tp, D, dSg, Tp, ncol, false);
        // Columns past a group's ncol (up to the tile's) are not zeroed: the causal dK/dV updates below read query i
        // only for key blocks starting at or before i's own group, which end inside its ncol (a multiple of kCol).
        for (int64_t r = 0; r < R; ++r) {
          const int64_t i = i0 + r, nkr = p.causal ? i + 1 : T_;
          probs_and_grad(Pg + r * Tp, dSg + r * Tp, ncol, nkr, scale, lse[i], delta[i]);
        }
        if (direct) {
          mm_rows(R, dSg, Tp, Kr, ldi, nk, p.dq + ooff + i0 * so, so, D, false);
        } else {
          mm_rows(R, dSg, Tp, Kr, ldi, nk, dQb, Dp, Dp, false);
          T* dq = p.dq + ooff + i0 * so;
          for (int64_t r = 0; r < R; ++r)
            for (int64_t d = 0; d < D; ++d) dq[r * so + d] = dQb[r * Dp + d];
        }
      }
      // dV[j] += sum_i P[i, j] dO[i] and dK[j] += sum_i dS[i, j] Q[i] over the tile's queries i, keys j < ncol_tile;
      // keys from `reached` on are first reached here and written.
      const int64_t first = p.causal ? t0 : -1, keys = min64(ncol_tile, key_rows);
      mm_t_all_rows(keys, P, Tp, dOr + t0 * ldo, ldo, rows, dV, ldo, Dp, first, reached);
      mm_t_all_rows(keys, dS, Tp, Qr + t0 * ldi, ldi, rows, dK, ldo, Dp, first, reached);
      reached = reached > keys ? reached : keys;
    }
    if (!direct)
      for (int64_t j = 0; j < T_; ++j)
        for (int64_t d = 0; d < D; ++d) {
          p.dk[ooff + j * so + d] = dKa[j * Dp + d];
          p.dv[ooff + j * so + d] = dVa[j * Dp + d];
        }
  }
}

}  // namespace incontext::attn::INCONTEXT_FAST_ISA

// All-prefix least squares and ridge, fast CPU path: one incremental pass per prompt, every prefix at once.
//
// Algorithm (minimum norm, lambda = 0). After k points the prefix matrix is factored as
//     A_k = C_k U_k,   U_k (r x d) orthonormal rows spanning the row space of A_k,  C_k = Q_k R_k (r x r)
// with R_k upper triangular and z_k = Q_k^T y_{<k}. The minimum-norm solution is w_k = U_k^T R_k^{-1} z_k, and the
// prediction at query q is (U_k q) . (R_k^{-1} z_k). Adding point (a, y_k):
//   1. Gram-Schmidt with one re-orthogonalisation ("twice is enough"): c = U a, e = a - U^T c (twice).
//   2. If ||e|| > tol (a new direction) and r < d: append u = e / ||e|| to U and the coordinate ||e|| to c, so the
//      factored row is (c, ||e||); otherwise e is dropped, exactly as pinv drops singular values below its cut-off.
//   3. Rotate the row (c, y_k) into (R, z) with r Givens rotations (QR updating, backward stable; no normal
//      equations, no Sherman-Morrison on an inverse).
//   tol = 16 max(k+1, d) eps_64 max_i ||x_i||, the same scale as the numpy/torch pinv cut-off
//   max(k, d) eps sigma_max, so exact and rounding-level repeats count as rank deficient.
// Ridge (lambda > 0) is least squares on [sqrt(lambda) I; A], so U = I, R_0 = sqrt(lambda) I, z_0 = 0 and only
// step 3 runs: the classic stable QR-RLS recursion.
//
// Shapes: x, q (B, n, d), y, pred (B, n), weights (B, n, d); prompts are independent.
// Cost per point: lambda = 0: about 6 d r FMAs for Gram-Schmidt while the rank grows, d r for U a, d r for U q,
// 2 r^2 for the rotations and r^2 / 2 for the back substitution; ridge: about 3 d^2. So O(n d^2) per prompt
// against O(n^2 d^2 + n d^3) for solving every prefix on its own.
//
// Vectorisation: L = 8 prompts run in lock-step, one per SIMD lane. Every quantity of the recursion is a vector V of
// L doubles (GCC vector extensions), so every step, including the square roots and divisions of the rotations and
// the back substitution, is one packed instruction per 4 (AVX2) or 8 (AVX-512) prompts, whatever d is. Prompts
// whose rank differs just carry zero slots (zero rows of R and U give identity rotations and zero solution
// components); only the bookkeeping of which slot a new direction goes to is per lane. The body is compiled three
// times (baseline x86-64, AVX2+FMA, AVX-512) and chosen at run time; INCONTEXT_CPU_ISA=portable|avx2 caps the choice.
// Precision: float64 state and arithmetic whatever the storage type; agrees with the float64 SVD reference to
// about 1e-12 relative on well-conditioned prompts (tested at 1e-10).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "cpu_isa.h"
#include "prefix_lstsq/prefix_lstsq.h"

namespace incontext::lstsq {

namespace {

constexpr int L = 8;  // prompts per lane group

// The group's 8 lanes as the target's native vectors: one 512-bit vector (AVX-512), two 256-bit ones (AVX2) or four
// 128-bit ones (baseline SSE2). Pairs of native vectors rather than one oversized generic vector: GCC lowers a
// vector wider than the target through the stack, which made the AVX2 build slower than the baseline one.
typedef double V2 __attribute__((vector_size(16)));
typedef double V4 __attribute__((vector_size(32)));
typedef double V8 __attribute__((vector_size(64)));

template <class H>
struct Pair {
  H lo, hi;
};

template <class V> struct Lanes { static constexpr int n = sizeof(V) / sizeof(double); };
template <class H> struct Lanes<Pair<H>> { static constexpr int n = 2 * Lanes<H>::n; };

#define INCONTEXT_PAIR_OP(op)                                                                          \
  template <class H>                                                                                   \
  [[gnu::always_inline]] inline Pair<H> operator op(const Pair<H>& a, const Pair<H>& b) {              \
    return {a.lo op b.lo, a.hi op b.hi};                                                               \
  }                                                                                                    \
  template <class H>                                                                                   \
  [[gnu::always_inline]] inline Pair<H>& operator op##=(Pair<H>& a, const Pair<H>& b) {                \
    a.lo op## = b.lo;                                                                                  \
    a.hi op## = b.hi;                                                                                  \
    return a;                                                                                          \
  }
INCONTEXT_PAIR_OP(+)
INCONTEXT_PAIR_OP(-)
INCONTEXT_PAIR_OP(*)
INCONTEXT_PAIR_OP(/)
#undef INCONTEXT_PAIR_OP

// a > b ? x : y, lane by lane.
template <class V>
[[gnu::always_inline]] inline V sel_gt(const V& a, const V& b, const V& x, const V& y) {
  return a > b ? x : y;
}
template <class H>
[[gnu::always_inline]] inline Pair<H> sel_gt(const Pair<H>& a, const Pair<H>& b, const Pair<H>& x, const Pair<H>& y) {
  return {sel_gt(a.lo, b.lo, x.lo, y.lo), sel_gt(a.hi, b.hi, x.hi, y.hi)};
}

template <class V>
[[gnu::always_inline]] inline V vsqrt(const V& x) {
  V r;
  for (int l = 0; l < Lanes<V>::n; ++l) r[l] = __builtin_sqrt(x[l]);   // -fno-math-errno: one packed square root
  return r;
}
template <class H>
[[gnu::always_inline]] inline Pair<H> vsqrt(const Pair<H>& x) {
  return {vsqrt(x.lo), vsqrt(x.hi)};
}

template <class V>
[[gnu::always_inline]] inline double get(const V& v, int l) {
  return v[l];
}
template <class H>
[[gnu::always_inline]] inline double get(const Pair<H>& v, int l) {
  return l < Lanes<H>::n ? get(v.lo, l) : get(v.hi, l - Lanes<H>::n);
}
template <class V>
[[gnu::always_inline]] inline void set(V& v, int l, double x) {
  v[l] = x;
}
template <class H>
[[gnu::always_inline]] inline void set(Pair<H>& v, int l, double x) {
  if (l < Lanes<H>::n) set(v.lo, l, x); else set(v.hi, l - Lanes<H>::n, x);
}

template <class V>
[[gnu::always_inline]] inline V splat(double s) {
  V r{};
  for (int l = 0; l < L; ++l) set(r, l, s);
  return r;
}

// A 64-byte aligned array of V (packed loads and stores need the alignment; std::vector does not promise it).
template <class V>
struct VBuf {
  V* p = nullptr;
  int64_t n = 0;
  VBuf() = default;
  VBuf(const VBuf&) = delete;
  VBuf& operator=(const VBuf&) = delete;
  ~VBuf() { std::free(p); }
  void assign(int64_t count) {
    std::free(p);
    n = count;
    p = static_cast<V*>(std::aligned_alloc(64, static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(V)));
    if (p == nullptr) throw std::bad_alloc();
    clear();
  }
  void clear() { std::memset(static_cast<void*>(p), 0, static_cast<size_t>(n) * sizeof(V)); }
  V* data() { return p; }
};

// Working memory of one lane group, reused across groups by one thread. Indexing: U[j * d + i] is slot j,
// coordinate i; R[j * d + c] row j, column c.
template <class V>
struct Work {
  VBuf<V> U, R, z, inv, row, c, e, a, q, v, t;
  void resize(int64_t d) {
    U.assign(d * d);
    R.assign(d * d);
    for (VBuf<V>* b : {&z, &inv, &row, &c, &e, &a, &q, &v, &t}) b->assign(d);
  }
};

template <class T, class V>
[[gnu::always_inline]] inline void load_rows(const T* base, const int64_t* b, int nl, int64_t n, int64_t d,
                                             int64_t k, V* __restrict out) {
  for (int64_t i = 0; i < d; ++i) out[i] = V{};
  for (int l = 0; l < nl; ++l) {
    const T* src = base + (b[l] * n + k) * d;
    for (int64_t i = 0; i < d; ++i) set(out[i], l, static_cast<double>(src[i]));
  }
}

// out[j] = sum_i M[j * d + i] x[i] for j < rows. Four rows at a time with independent accumulators: a single
// running sum is a chain of dependent FMAs (4 cycles each), which left the FMA units idle three cycles in four.
template <class V>
[[gnu::always_inline]] inline void matvec(const V* __restrict M, const V* __restrict x, V* __restrict out,
                                          int64_t rows, int64_t d) {
  int64_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    V s0{}, s1{}, s2{}, s3{};
    const V* m0 = M + j * d;
    for (int64_t i = 0; i < d; ++i) {
      const V xi = x[i];
      s0 += m0[i] * xi;
      s1 += m0[d + i] * xi;
      s2 += m0[2 * d + i] * xi;
      s3 += m0[3 * d + i] * xi;
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }
  for (; j < rows; ++j) {
    V s0{}, s1{};
    const V* m0 = M + j * d;
    int64_t i = 0;
    for (; i + 2 <= d; i += 2) {
      s0 += m0[i] * x[i];
      s1 += m0[i + 1] * x[i + 1];
    }
    if (i < d) s0 += m0[i] * x[i];
    out[j] = s0 + s1;
  }
}

// e[i] -= sum_j coef[j] M[j * d + i] for j < rows: four rows per pass over e, so e is loaded and stored once per
// four FMAs instead of once per FMA.
template <class V>
[[gnu::always_inline]] inline void sub_mtvec(const V* __restrict M, const V* __restrict coef, V* __restrict e,
                                             int64_t rows, int64_t d) {
  int64_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    const V c0 = coef[j], c1 = coef[j + 1], c2 = coef[j + 2], c3 = coef[j + 3];
    const V* m0 = M + j * d;
    for (int64_t i = 0; i < d; ++i) e[i] -= (c0 * m0[i] + c1 * m0[d + i]) + (c2 * m0[2 * d + i] + c3 * m0[3 * d + i]);
  }
  for (; j < rows; ++j) {
    const V c0 = coef[j];
    const V* m0 = M + j * d;
    for (int64_t i = 0; i < d; ++i) e[i] -= c0 * m0[i];
  }
}

// v = R^{-1} z over the first m slots, with inv[j] = 1 / R[j][j] (0 for an unused slot of a lower-rank lane, which
// then gets v = 0 there).
template <class V>
[[gnu::always_inline]] inline void back_substitute(const V* __restrict R, const V* __restrict inv,
                                                   const V* __restrict z, V* __restrict v, int64_t d, int64_t m) {
  for (int64_t j = m - 1; j >= 0; --j) {
    V s0 = z[j], s1{};  // two partial sums: half the dependent FMA chain
    int64_t c = j + 1;
    for (; c + 2 <= m; c += 2) {
      s0 -= R[j * d + c] * v[c];
      s1 -= R[j * d + c + 1] * v[c + 1];
    }
    if (c < m) s0 -= R[j * d + c] * v[c];
    v[j] = (s0 + s1) * inv[j];
  }
}

// Rotates (row, rhs) into (R, z) over the first m slots with Givens rotations: R stays upper triangular and
// accumulates row row^T exactly as a QR factorisation of the stacked rows would. Keeps inv[j] = 1 / R[j][j].
template <class V>
[[gnu::always_inline]] inline void givens_update(V* __restrict R, V* __restrict inv, V* __restrict z,
                                                 V* __restrict row, V& rhs, int64_t d, int64_t m) {
  const V zero{}, one = splat<V>(1.0);
  for (int64_t j = 0; j < m; ++j) {
    const V rjj = R[j * d + j], xj = row[j];
    const V h = vsqrt(rjj * rjj + xj * xj);
    const V hinv = sel_gt(h, zero, one / sel_gt(h, zero, h, one), zero);
    const V cs = sel_gt(h, zero, rjj * hinv, one);
    const V sn = xj * hinv;
    R[j * d + j] = h;
    inv[j] = hinv;
    for (int64_t c = j + 1; c < m; ++c) {
      const V r0 = R[j * d + c], x0 = row[c];
      R[j * d + c] = cs * r0 + sn * x0;
      row[c] = cs * x0 - sn * r0;
    }
    const V z0 = z[j], t0 = rhs;
    z[j] = cs * z0 + sn * t0;
    rhs = cs * t0 - sn * z0;
  }
}

template <class T, bool Ridge, class V>
[[gnu::always_inline]] inline void run_group(const FwdParams<T>& p, const int64_t* b, int nl, Work<V>& W) {
  const int64_t n = p.n, d = p.d;
  V* __restrict U = W.U.data();
  V* __restrict R = W.R.data();
  V* __restrict z = W.z.data();
  V* __restrict inv = W.inv.data();
  V* __restrict row = W.row.data();
  V* __restrict c = W.c.data();
  V* __restrict e = W.e.data();
  V* __restrict a = W.a.data();
  V* __restrict q = W.q.data();
  V* __restrict v = W.v.data();
  V* __restrict t = W.t.data();
  int rank[L] = {};
  V scale{};

  W.R.clear();
  W.z.clear();
  W.inv.clear();
  if constexpr (Ridge) {
    V s = splat<V>(1.0);  // padding lanes: any invertible R
    for (int l = 0; l < nl; ++l) set(s, l, std::sqrt(p.lambda[b[l]]));
    const V one = splat<V>(1.0);
    for (int64_t j = 0; j < d; ++j) {
      R[j * d + j] = s;
      inv[j] = one / s;
    }
  } else {
    W.U.clear();
  }
  int64_t rmax = Ridge ? d : 0;  // slots in use by some lane
  int64_t rmin = Ridge ? d : 0;  // slots in use by every real lane
  const double eps = std::numeric_limits<double>::epsilon();
  const T* qbase = p.q ? p.q : p.x;

  for (int64_t k = 0; k < n; ++k) {
    // ---- prediction at query k from the fit to points 0..k-1: (U q) . R^{-1} z ----
    back_substitute(R, inv, z, v, d, rmax);
    load_rows(qbase, b, nl, n, d, k, q);
    V out{};
    if constexpr (Ridge) {
      for (int64_t i = 0; i < d; ++i) out += v[i] * q[i];
    } else {
      matvec(U, q, t, rmax, d);   // t = U q
      for (int64_t j = 0; j < rmax; ++j) out += t[j] * v[j];
    }
    for (int l = 0; l < nl; ++l) p.pred[b[l] * n + k] = static_cast<T>(get(out, l));
    if (p.w) {  // w = U^T v (ridge: U = I)
      for (int64_t i = 0; i < d; ++i) t[i] = Ridge ? v[i] : V{};
      if constexpr (!Ridge) {
        for (int64_t j = 0; j < rmax; ++j) v[j] = V{} - v[j];   // t = -(-U^T v)
        sub_mtvec(U, v, t, rmax, d);
      }
      for (int l = 0; l < nl; ++l) {
        T* dst = p.w + (b[l] * n + k) * d;
        for (int64_t i = 0; i < d; ++i) dst[i] = static_cast<T>(get(t[i], l));
      }
    }
    if (k == n - 1) break;

    // ---- add point k ----
    load_rows(p.x, b, nl, n, d, k, a);
    V rhs{};
    for (int l = 0; l < nl; ++l) set(rhs, l, static_cast<double>(p.y[b[l] * n + k]));
    if constexpr (Ridge) {
      std::memcpy(row, a, sizeof(V) * d);
    } else {
      matvec(U, a, c, rmax, d);   // c = U a
      for (int64_t j = rmax; j < d; ++j) c[j] = V{};
      if (rmin < d) {  // some lane may still gain a direction: the residual decides
        std::memcpy(e, a, sizeof(V) * d);
        sub_mtvec(U, c, e, rmax, d);   // e = a - U^T c
        V rho2{}, a2{};
        for (int64_t i = 0; i < d; ++i) {
          rho2 += e[i] * e[i];
          a2 += a[i] * a[i];
        }
        // Re-orthogonalise only where the first pass cancelled: ||e|| <= ||a|| / sqrt(2) in some real lane (the
        // Daniel-Gragg-Kaufman-Stewart criterion); then c2 = U e, c += c2, e -= U^T c2 ("twice is enough").
        bool again = false;
        for (int l = 0; l < nl; ++l) again = again || !(get(rho2, l) > 0.5 * get(a2, l));
        if (again) {
          matvec(U, e, row, rmax, d);
          for (int64_t j = 0; j < rmax; ++j) c[j] += row[j];
          sub_mtvec(U, row, e, rmax, d);
          rho2 = V{};
          for (int64_t i = 0; i < d; ++i) rho2 += e[i] * e[i];
        }
        const double tol_factor = 16.0 * static_cast<double>(std::max<int64_t>(k + 1, d)) * eps;
        const V an = vsqrt(a2);
        scale = sel_gt(scale, an, scale, an);
        const V rho = vsqrt(rho2);
        const V one = splat<V>(1.0);
        const V rinv = one / sel_gt(rho, V{}, rho, one);
        for (int l = 0; l < nl; ++l) {
          if (rank[l] < d && get(rho, l) > tol_factor * get(scale, l)) {  // a new direction for this prompt only
            const int64_t s = rank[l]++;
            const double ri = get(rinv, l);
            for (int64_t i = 0; i < d; ++i) set(U[s * d + i], l, get(e[i], l) * ri);
            set(c[s], l, get(rho, l));
          }
        }
        int rmx = 0, rmn = static_cast<int>(d);
        for (int l = 0; l < nl; ++l) {
          rmx = std::max(rmx, rank[l]);
          rmn = std::min(rmn, rank[l]);
        }
        rmax = rmx;
        rmin = rmn;
      }
      std::memcpy(row, c, sizeof(V) * d);
    }
    givens_update(R, inv, z, row, rhs, d, rmax);
  }
}

typedef V8 VAvx512;
typedef Pair<V4> VAvx2;
typedef Pair<Pair<V2>> VPortable;

template <class T, bool Ridge>
__attribute__((target("avx512f,avx512vl,avx512dq"), flatten)) void run_group_avx512(const FwdParams<T>& p,
                                                                                   const int64_t* b, int nl,
                                                                                   Work<VAvx512>& W) {
  run_group<T, Ridge>(p, b, nl, W);
}

template <class T, bool Ridge>
__attribute__((target("avx2,fma"), flatten)) void run_group_avx2(const FwdParams<T>& p, const int64_t* b, int nl,
                                                                  Work<VAvx2>& W) {
  run_group<T, Ridge>(p, b, nl, W);
}

template <class T, bool Ridge>
__attribute__((flatten)) void run_group_generic(const FwdParams<T>& p, const int64_t* b, int nl, Work<VPortable>& W) {
  run_group<T, Ridge>(p, b, nl, W);
}

FastIsa detect_isa() {
  switch (cpu::widest(/*need_bw=*/false)) {
    case cpu::Isa::avx512: return FastIsa::avx512;
    case cpu::Isa::avx2: return FastIsa::avx2;
    case cpu::Isa::portable: return FastIsa::portable;
  }
  return FastIsa::portable;
}

}  // namespace

int64_t fast_lanes() { return L; }

FastIsa fast_isa() {
  static const FastIsa isa = detect_isa();
  return isa;
}

bool fast_isa_supported(FastIsa isa) {
  switch (isa) {
    case FastIsa::portable: return true;
    case FastIsa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case FastIsa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq");
  }
  return false;
}

const char* fast_isa_name(FastIsa isa) {
  switch (isa) {
    case FastIsa::portable: return "portable";
    case FastIsa::avx2: return "avx2+fma";
    case FastIsa::avx512: return "avx512";
  }
  return "?";
}

template <class T, class V, class Run>
void run_groups(const FwdParams<T>& p, const int64_t* idx, int64_t i_begin, int64_t i_end, Run run) {
  Work<V> W;
  W.resize(p.d);
  for (int64_t i = i_begin; i < i_end; i += L) run(p, idx + i, static_cast<int>(std::min<int64_t>(L, i_end - i)), W);
}

template <class T>
void forward_fast(const FwdParams<T>& p, const int64_t* idx, int64_t i_begin, int64_t i_end, bool ridge,
                  FastIsa isa) {
  switch (isa) {
    case FastIsa::avx512:
      return run_groups<T, VAvx512>(p, idx, i_begin, i_end, ridge ? run_group_avx512<T, true> : run_group_avx512<T, false>);
    case FastIsa::avx2:
      return run_groups<T, VAvx2>(p, idx, i_begin, i_end, ridge ? run_group_avx2<T, true> : run_group_avx2<T, false>);
    case FastIsa::portable:
      return run_groups<T, VPortable>(p, idx, i_begin, i_end,
                                      ridge ? run_group_generic<T, true> : run_group_generic<T, false>);
  }
}

template <class T>
void forward_fast(const FwdParams<T>& p, const int64_t* idx, int64_t i_begin, int64_t i_end, bool ridge) {
  forward_fast(p, idx, i_begin, i_end, ridge, fast_isa());
}

template void forward_fast<float>(const FwdParams<float>&, const int64_t*, int64_t, int64_t, bool);
template void forward_fast<double>(const FwdParams<double>&, const int64_t*, int64_t, int64_t, bool);
template void forward_fast<float>(const FwdParams<float>&, const int64_t*, int64_t, int64_t, bool, FastIsa);
template void forward_fast<double>(const FwdParams<double>&, const int64_t*, int64_t, int64_t, bool, FastIsa);

}  // namespace incontext::lstsq

// All-prefix least squares and ridge, fast CPU path: one incremental pass per prompt, every prefix at once.
//
// Algorithm (minimum norm, lambda = 0). After k points the prefix matrix is factored as
//     A_k = C_k U_k,   U_k (r x d) orthonormal rows spanning the row space of A_k,  C_k = Q_k R_k (r x r)
// with R_k upper triangular and z_k = Q_k^T y_{<k}. The minimum-norm solution is w_k = U_k^T R_k^{-1} z_k, and the
// prediction at query q is q . w_k. Adding point (a, y_k):
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
// Cost per point: lambda = 0: about 12 d r flop for Gram-Schmidt while the rank grows, then 2 d^2 for U a,
// 3 r^2 for the rotations, r^2 for the back substitution and 2 d r for w = U^T v; ridge: about 4 d^2.
// So O(n d^2) per prompt against O(n^2 d^2 + n d^3) for solving every prefix on its own.
// Vectorisation: L prompts are processed in lock-step, their state interleaved with the prompt innermost
// ([slot][coord][lane]), so every loop is an independent L-wide SIMD operation whatever d is; prompts whose rank
// differs just carry zero slots (zero rows of R and U give identity rotations and zero solution components).
// Precision: float64 state and arithmetic whatever the storage type; agrees with the float64 SVD reference to
// about 1e-12 relative on well-conditioned prompts (tested at 1e-10).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "prefix_lstsq/prefix_lstsq.h"

namespace incontext::lstsq {

namespace {

constexpr int L = 8;  // prompts per lane group: two AVX2 vectors of doubles

// Working memory of one lane group, reused across groups by one thread.
struct Work {
  std::vector<double> U, R, z, row, c, e, v, w, a, q, rhs, scale;
  std::vector<int> rank;
  void resize(int64_t d) {
    U.assign(d * d * L, 0.0);
    R.assign(d * d * L, 0.0);
    for (auto* b : {&z, &row, &c, &e, &v, &w, &a, &q}) b->assign(d * L, 0.0);
    rhs.assign(L, 0.0);
    scale.assign(L, 0.0);
    rank.assign(L, 0);
  }
};

template <class T>
[[gnu::always_inline]] inline void load_rows(const T* base, const int64_t* b, int nl, int64_t n, int64_t d,
                                             int64_t k, double* __restrict out) {
  for (int l = 0; l < L; ++l) {
    if (l < nl) {
      const T* src = base + (b[l] * n + k) * d;
      for (int64_t i = 0; i < d; ++i) out[i * L + l] = static_cast<double>(src[i]);
    } else {
      for (int64_t i = 0; i < d; ++i) out[i * L + l] = 0.0;
    }
  }
}

// L lanes of doubles as one GCC vector value: elementwise arithmetic compiles to two AVX2 (or four SSE2) ops,
// whatever the target of the clone. aligned(8): the state arrays are only guaranteed 8-byte aligned.
typedef double V __attribute__((vector_size(L * sizeof(double)), aligned(8)));

[[gnu::always_inline]] inline V vsqrt(V t) {
  V h;
  for (int l = 0; l < L; ++l) h[l] = __builtin_sqrt(t[l]);
  return h;
}

// 1.0 in the lanes where t == 0, else 0.0: turns "divide unless zero" into branch-free arithmetic.
[[gnu::always_inline]] inline V is_zero(V t) {
  return __builtin_convertvector(-(t == 0.0), V);
}

// v = R^{-1} z over the first m slots; a zero diagonal (an unused slot of a lower-rank lane, whose z and R row are
// zero too) gives v = 0 / 1 = 0 there.
[[gnu::always_inline]] inline void back_substitute(const V* __restrict R, const V* __restrict z, V* __restrict v,
                                                   int64_t d, int64_t m) {
  for (int64_t j = m - 1; j >= 0; --j) {
    V s = z[j];
    for (int64_t c = j + 1; c < m; ++c) s -= R[j * d + c] * v[c];
    const V rjj = R[j * d + j];
    v[j] = s / (rjj + is_zero(rjj));
  }
}

// Rotates (row, rhs) into (R, z) over the first m slots with Givens rotations: R stays upper triangular and
// R^T R gains row row^T, exactly as in a QR factorisation of the stacked rows. A zero pair (R_jj, row_j) gives the
// identity rotation (cs = 1, sn = 0) without a branch.
[[gnu::always_inline]] inline void givens_update(V* __restrict R, V* __restrict z, V* __restrict row,
                                                 V* __restrict rhs, int64_t d, int64_t m) {
  for (int64_t j = 0; j < m; ++j) {
    const V rjj = R[j * d + j], xj = row[j];
    const V h = vsqrt(rjj * rjj + xj * xj);
    const V one = is_zero(h);
    const V inv = 1.0 / (h + one);
    const V cs = (rjj + one) * inv, sn = xj * inv;
    R[j * d + j] = h;
    for (int64_t c = j + 1; c < m; ++c) {
      const V r0 = R[j * d + c], x0 = row[c];
      R[j * d + c] = cs * r0 + sn * x0;
      row[c] = cs * x0 - sn * r0;
    }
    const V z0 = z[j], t0 = *rhs;
    z[j] = cs * z0 + sn * t0;
    *rhs = cs * t0 - sn * z0;
  }
}

template <class T, bool Ridge>
[[gnu::always_inline]] inline void run_group(const FwdParams<T>& p, const int64_t* b, int nl, Work& W) {
  const int64_t n = p.n, d = p.d;
  // Views of the lane-interleaved state: element [slot * d + coord] of U and R, [coord] of the vectors.
  V* __restrict U = reinterpret_cast<V*>(W.U.data());
  V* __restrict R = reinterpret_cast<V*>(W.R.data());
  V* __restrict z = reinterpret_cast<V*>(W.z.data());
  V* __restrict row = reinterpret_cast<V*>(W.row.data());
  V* __restrict c = reinterpret_cast<V*>(W.c.data());
  V* __restrict e = reinterpret_cast<V*>(W.e.data());
  V* __restrict v = reinterpret_cast<V*>(W.v.data());
  V* __restrict w = reinterpret_cast<V*>(W.w.data());
  V* __restrict a = reinterpret_cast<V*>(W.a.data());
  V* __restrict q = reinterpret_cast<V*>(W.q.data());
  V* __restrict rhs = reinterpret_cast<V*>(W.rhs.data());
  double* scale = W.scale.data();
  int* rank = W.rank.data();
  const V zero = {};

  std::fill(W.R.begin(), W.R.end(), 0.0);
  std::fill(W.z.begin(), W.z.end(), 0.0);
  if constexpr (Ridge) {
    V s = zero + 1.0;  // padding lanes: any invertible R
    for (int l = 0; l < nl; ++l) s[l] = std::sqrt(p.lambda[b[l]]);
    for (int64_t j = 0; j < d; ++j) R[j * d + j] = s;
  } else {
    std::fill(W.U.begin(), W.U.end(), 0.0);
    std::fill(W.scale.begin(), W.scale.end(), 0.0);
    std::fill(W.rank.begin(), W.rank.end(), 0);
  }
  int64_t rmax = Ridge ? d : 0;  // slots in use by some lane
  int64_t rmin = Ridge ? d : 0;  // slots in use by every real lane
  const double eps = std::numeric_limits<double>::epsilon();
  const T* qbase = p.q ? p.q : p.x;

  for (int64_t k = 0; k < n; ++k) {
    // ---- prediction at query k from the fit to points 0..k-1 ----
    back_substitute(R, z, v, d, rmax);
    if constexpr (Ridge) {
      for (int64_t i = 0; i < d; ++i) w[i] = v[i];
    } else {
      for (int64_t i = 0; i < d; ++i) w[i] = zero;
      for (int64_t j = 0; j < rmax; ++j) {
        const V vj = v[j];
        for (int64_t i = 0; i < d; ++i) w[i] += vj * U[j * d + i];
      }
    }
    load_rows(qbase, b, nl, n, d, k, W.q.data());
    V out = zero;
    for (int64_t i = 0; i < d; ++i) out += w[i] * q[i];
    for (int l = 0; l < nl; ++l) {
      p.pred[b[l] * n + k] = static_cast<T>(out[l]);
      if (p.w) {
        T* dst = p.w + (b[l] * n + k) * d;
        for (int64_t i = 0; i < d; ++i) dst[i] = static_cast<T>(w[i][l]);
      }
    }
    if (k == n - 1) break;

    // ---- add point k ----
    load_rows(p.x, b, nl, n, d, k, W.a.data());
    for (int l = 0; l < L; ++l) W.rhs[l] = l < nl ? static_cast<double>(p.y[b[l] * n + k]) : 0.0;
    if constexpr (Ridge) {
      for (int64_t i = 0; i < d; ++i) row[i] = a[i];
    } else {
      for (int64_t j = 0; j < rmax; ++j) {  // c = U a
        V s = zero;
        for (int64_t i = 0; i < d; ++i) s += U[j * d + i] * a[i];
        c[j] = s;
      }
      for (int64_t j = rmax; j < d; ++j) c[j] = zero;
      if (rmin < d) {  // some lane may still gain a direction: the residual decides
        for (int64_t i = 0; i < d; ++i) e[i] = a[i];
        for (int64_t j = 0; j < rmax; ++j) {
          const V cj = c[j];
          for (int64_t i = 0; i < d; ++i) e[i] -= cj * U[j * d + i];
        }
        // Re-orthogonalise once ("twice is enough"): c2 = U e, e -= U^T c2, c += c2.
        for (int64_t j = 0; j < rmax; ++j) {
          V s = zero;
          for (int64_t i = 0; i < d; ++i) s += U[j * d + i] * e[i];
          row[j] = s;
          c[j] += s;
        }
        for (int64_t j = 0; j < rmax; ++j) {
          const V cj = row[j];
          for (int64_t i = 0; i < d; ++i) e[i] -= cj * U[j * d + i];
        }
        V rho2 = zero, a2 = zero;
        for (int64_t i = 0; i < d; ++i) {
          rho2 += e[i] * e[i];
          a2 += a[i] * a[i];
        }
        const double tol_factor = 16.0 * static_cast<double>(std::max<int64_t>(k + 1, d)) * eps;
        for (int l = 0; l < nl; ++l) {
          scale[l] = std::max(scale[l], std::sqrt(a2[l]));
          const double rho = std::sqrt(rho2[l]);
          if (rank[l] < d && rho > tol_factor * scale[l]) {
            const int64_t s = rank[l]++;
            for (int64_t i = 0; i < d; ++i) U[s * d + i][l] = e[i][l] / rho;
            c[s][l] = rho;
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
      for (int64_t j = 0; j < d; ++j) row[j] = c[j];
    }
    givens_update(R, z, row, rhs, d, rmax);
  }
}

template <class T, bool Ridge>
__attribute__((target("avx2,fma"), flatten)) void run_group_avx2(const FwdParams<T>& p, const int64_t* b, int nl,
                                                                  Work& W) {
  run_group<T, Ridge>(p, b, nl, W);
}

template <class T, bool Ridge>
__attribute__((flatten)) void run_group_generic(const FwdParams<T>& p, const int64_t* b, int nl, Work& W) {
  run_group<T, Ridge>(p, b, nl, W);
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

}  // namespace

int64_t fast_lanes() { return L; }

template <class T>
void forward_fast(const FwdParams<T>& p, const int64_t* idx, int64_t i_begin, int64_t i_end, bool ridge) {
  Work W;
  W.resize(p.d);
  const bool avx2 = has_avx2();
  for (int64_t i = i_begin; i < i_end; i += L) {
    const int nl = static_cast<int>(std::min<int64_t>(L, i_end - i));
    const int64_t* b = idx + i;
    if (ridge) {
      avx2 ? run_group_avx2<T, true>(p, b, nl, W) : run_group_generic<T, true>(p, b, nl, W);
    } else {
      avx2 ? run_group_avx2<T, false>(p, b, nl, W) : run_group_generic<T, false>(p, b, nl, W);
    }
  }
}

template void forward_fast<float>(const FwdParams<float>&, const int64_t*, int64_t, int64_t, bool);
template void forward_fast<double>(const FwdParams<double>&, const int64_t*, int64_t, int64_t, bool);

}  // namespace incontext::lstsq

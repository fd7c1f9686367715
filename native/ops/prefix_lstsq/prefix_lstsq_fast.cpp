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

// v = R^{-1} z over the first m slots; a zero diagonal (an unused slot of a lower-rank lane) gives v = 0 there.
[[gnu::always_inline]] inline void back_substitute(const double* __restrict R, const double* __restrict z,
                                                   double* __restrict v, int64_t d, int64_t m) {
  for (int64_t j = m - 1; j >= 0; --j) {
    double s[L];
    for (int l = 0; l < L; ++l) s[l] = z[j * L + l];
    for (int64_t c = j + 1; c < m; ++c) {
      const double* Rjc = &R[(j * d + c) * L];
      const double* vc = &v[c * L];
      for (int l = 0; l < L; ++l) s[l] -= Rjc[l] * vc[l];
    }
    const double* Rjj = &R[(j * d + j) * L];
    for (int l = 0; l < L; ++l) v[j * L + l] = Rjj[l] != 0.0 ? s[l] / (Rjj[l] != 0.0 ? Rjj[l] : 1.0) : 0.0;
  }
}

// Rotates (row, rhs) into (R, z) over the first m slots with Givens rotations: R stays upper triangular and
// R^T R + ... accumulates row row^T exactly as a QR factorisation of the stacked rows would.
[[gnu::always_inline]] inline void givens_update(double* __restrict R, double* __restrict z, double* __restrict row,
                                                 double* __restrict rhs, int64_t d, int64_t m) {
  for (int64_t j = 0; j < m; ++j) {
    double cs[L], sn[L];
    double* Rjj = &R[(j * d + j) * L];
    double* xj = &row[j * L];
    for (int l = 0; l < L; ++l) {
      const double h = std::sqrt(Rjj[l] * Rjj[l] + xj[l] * xj[l]);
      const double hs = h > 0.0 ? h : 1.0;
      cs[l] = h > 0.0 ? Rjj[l] / hs : 1.0;
      sn[l] = h > 0.0 ? xj[l] / hs : 0.0;
      Rjj[l] = h;
    }
    for (int64_t c = j + 1; c < m; ++c) {
      double* Rjc = &R[(j * d + c) * L];
      double* xc = &row[c * L];
      for (int l = 0; l < L; ++l) {
        const double r0 = Rjc[l], x0 = xc[l];
        Rjc[l] = cs[l] * r0 + sn[l] * x0;
        xc[l] = cs[l] * x0 - sn[l] * r0;
      }
    }
    double* zj = &z[j * L];
    for (int l = 0; l < L; ++l) {
      const double z0 = zj[l], t0 = rhs[l];
      zj[l] = cs[l] * z0 + sn[l] * t0;
      rhs[l] = cs[l] * t0 - sn[l] * z0;
    }
  }
}

template <class T, bool Ridge>
[[gnu::always_inline]] inline void run_group(const FwdParams<T>& p, const int64_t* b, int nl, Work& W) {
  const int64_t n = p.n, d = p.d;
  double* __restrict U = W.U.data();
  double* __restrict R = W.R.data();
  double* __restrict z = W.z.data();
  double* __restrict row = W.row.data();
  double* __restrict c = W.c.data();
  double* __restrict e = W.e.data();
  double* __restrict v = W.v.data();
  double* __restrict w = W.w.data();
  double* __restrict a = W.a.data();
  double* __restrict q = W.q.data();
  double* __restrict rhs = W.rhs.data();
  double* __restrict scale = W.scale.data();
  int* rank = W.rank.data();

  std::fill(W.R.begin(), W.R.end(), 0.0);
  std::fill(W.z.begin(), W.z.end(), 0.0);
  if constexpr (Ridge) {
    for (int l = 0; l < L; ++l) {
      const double s = l < nl ? std::sqrt(p.lambda[b[l]]) : 1.0;  // padding lanes: any invertible R
      for (int64_t j = 0; j < d; ++j) R[(j * d + j) * L + l] = s;
    }
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
      std::memcpy(w, v, sizeof(double) * d * L);
    } else {
      for (int64_t i = 0; i < d * L; ++i) w[i] = 0.0;
      for (int64_t j = 0; j < rmax; ++j) {
        const double* vj = &v[j * L];
        for (int64_t i = 0; i < d; ++i) {
          const double* Uji = &U[(j * d + i) * L];
          double* wi = &w[i * L];
          for (int l = 0; l < L; ++l) wi[l] += vj[l] * Uji[l];
        }
      }
    }
    load_rows(qbase, b, nl, n, d, k, q);
    double out[L] = {};
    for (int64_t i = 0; i < d; ++i)
      for (int l = 0; l < L; ++l) out[l] += w[i * L + l] * q[i * L + l];
    for (int l = 0; l < nl; ++l) {
      p.pred[b[l] * n + k] = static_cast<T>(out[l]);
      if (p.w) {
        T* dst = p.w + (b[l] * n + k) * d;
        for (int64_t i = 0; i < d; ++i) dst[i] = static_cast<T>(w[i * L + l]);
      }
    }
    if (k == n - 1) break;

    // ---- add point k ----
    load_rows(p.x, b, nl, n, d, k, a);
    for (int l = 0; l < L; ++l) rhs[l] = l < nl ? static_cast<double>(p.y[b[l] * n + k]) : 0.0;
    if constexpr (Ridge) {
      std::memcpy(row, a, sizeof(double) * d * L);
    } else {
      // c = U a
      for (int64_t j = 0; j < rmax; ++j) {
        double s[L] = {};
        for (int64_t i = 0; i < d; ++i) {
          const double* Uji = &U[(j * d + i) * L];
          const double* ai = &a[i * L];
          for (int l = 0; l < L; ++l) s[l] += Uji[l] * ai[l];
        }
        for (int l = 0; l < L; ++l) c[j * L + l] = s[l];
      }
      for (int64_t j = rmax; j < d; ++j)
        for (int l = 0; l < L; ++l) c[j * L + l] = 0.0;
      if (rmin < d) {  // some lane may still gain a direction: the residual decides
        std::memcpy(e, a, sizeof(double) * d * L);
        for (int pass = 0; pass < 2; ++pass) {
          if (pass == 1) {  // re-orthogonalise: c2 = U e, c += c2
            for (int64_t j = 0; j < rmax; ++j) {
              double s[L] = {};
              for (int64_t i = 0; i < d; ++i) {
                const double* Uji = &U[(j * d + i) * L];
                const double* ei = &e[i * L];
                for (int l = 0; l < L; ++l) s[l] += Uji[l] * ei[l];
              }
              for (int l = 0; l < L; ++l) {
                row[j * L + l] = s[l];
                c[j * L + l] += s[l];
              }
            }
          }
          const double* coef = pass == 0 ? c : row;
          for (int64_t j = 0; j < rmax; ++j) {
            const double* cj = &coef[j * L];
            for (int64_t i = 0; i < d; ++i) {
              const double* Uji = &U[(j * d + i) * L];
              double* ei = &e[i * L];
              for (int l = 0; l < L; ++l) ei[l] -= cj[l] * Uji[l];
            }
          }
        }
        double rho2[L] = {}, a2[L] = {};
        for (int64_t i = 0; i < d; ++i)
          for (int l = 0; l < L; ++l) {
            rho2[l] += e[i * L + l] * e[i * L + l];
            a2[l] += a[i * L + l] * a[i * L + l];
          }
        const double tol_factor = 16.0 * static_cast<double>(std::max<int64_t>(k + 1, d)) * eps;
        for (int l = 0; l < nl; ++l) {
          scale[l] = std::max(scale[l], std::sqrt(a2[l]));
          const double rho = std::sqrt(rho2[l]);
          if (rank[l] < d && rho > tol_factor * scale[l]) {
            const int64_t s = rank[l]++;
            for (int64_t i = 0; i < d; ++i) U[(s * d + i) * L + l] = e[i * L + l] / rho;
            c[s * L + l] = rho;
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
      std::memcpy(row, c, sizeof(double) * d * L);
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
